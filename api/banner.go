package api

import (
	"bufio"
	"bytes"
	"html/template"
	"mime"
	"net"
	"net/http"

	"github.com/labstack/echo/v4"
)

// DemoBanner is what every page of a demo service says: nobody signs in there, and its
// patients are synthetic. A screenshot of a demo page must never pass for a real one.
const DemoBanner = "Demo mode: no sign-in; data are made up"

// demoBannerHTML is the banner's markup. data-demo-banner marks it, so that a page whose
// template already calls pageBanner does not get it twice.
const demoBannerHTML = `<p class="demo-banner" role="note" data-demo-banner>` + DemoBanner + `</p>`

// pageBanner is the banner a page shows at its top: the demo banner in demo mode,
// nothing otherwise. Templates call it as {{pageBanner}} (FuncMap) or take it as data.
// Error pages need it: Echo's error handler renders them after the middleware chain has
// returned, so demoBanner never sees them.
func (s *Server) pageBanner() template.HTML {
	if s.cfg.Demo {
		return demoBannerHTML
	}
	return ""
}

// demoBanner puts the banner at the top of every HTML page the API port serves in demo
// mode, whatever renders it (the report, the funnel, error pages, pages other handlers
// add later): one place, so that no page can forget it. Pages are buffered (they are
// rendered whole anyway); other responses pass through untouched.
func (s *Server) demoBanner(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		res := c.Response()
		bw := &bannerWriter{ResponseWriter: res.Writer}
		res.Writer = bw
		err := next(c)
		res.Writer = bw.ResponseWriter
		if err == nil || bw.html {
			bw.flush()
		}
		return err
	}
}

// bannerWriter holds back an HTML response to insert the banner after <body>.
type bannerWriter struct {
	http.ResponseWriter
	html   bool // the response is HTML: buffered
	status int
	buf    bytes.Buffer
}

func (w *bannerWriter) WriteHeader(status int) {
	if mt, _, err := mime.ParseMediaType(w.Header().Get(echo.HeaderContentType)); err == nil && mt == "text/html" {
		w.html, w.status = true, status
		w.Header().Del(echo.HeaderContentLength)
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *bannerWriter) Write(b []byte) (int, error) {
	if w.html {
		return w.buf.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// flush writes a held-back page with the banner inserted after its <body> tag (or first,
// for a page without one).
func (w *bannerWriter) flush() {
	if !w.html {
		return
	}
	w.html = false
	page := w.buf.Bytes()
	if !bytes.Contains(page, []byte("data-demo-banner")) {
		at := 0
		if i := bytes.Index(page, []byte("<body")); i >= 0 {
			if j := bytes.IndexByte(page[i:], '>'); j >= 0 {
				at = i + j + 1
			}
		}
		page = append(append(append([]byte{}, page[:at]...), "\n"+demoBannerHTML...), page[at:]...)
	}
	w.ResponseWriter.WriteHeader(w.status)
	_, _ = w.ResponseWriter.Write(page)
}

func (w *bannerWriter) Flush() {
	if !w.html {
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
	}
}

func (w *bannerWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *bannerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
