package fhirclient

import (
	"context"
	"errors"
)

// TokenSource gives the bearer token for a request. It is asked before every attempt,
// so an implementation that refreshes tokens is honoured on retries too.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// StaticToken is a TokenSource that always gives tok.
func StaticToken(tok string) TokenSource { return staticToken{tok: tok} }

type staticToken struct{ tok string }

func (s staticToken) Token(context.Context) (string, error) {
	if s.tok == "" {
		return "", errors.New("the static token is empty")
	}
	return s.tok, nil
}

// String keeps the token out of logs that print the Config.
func (staticToken) String() string { return "StaticToken(redacted)" }

// GoString does the same for %#v.
func (staticToken) GoString() string { return "StaticToken(redacted)" }

// ContextToken is a TokenSource that gives the token put in the request's context with
// WithToken: for servers where each caller brings its own token (a CDS Hooks
// fhirAuthorization), while one Client per server keeps its breaker and limits.
func ContextToken() TokenSource { return contextToken{} }

type tokenKey struct{}

// WithToken returns ctx carrying tok for a Client configured with ContextToken.
func WithToken(ctx context.Context, tok string) context.Context {
	return context.WithValue(ctx, tokenKey{}, tok)
}

type contextToken struct{}

func (contextToken) Token(ctx context.Context) (string, error) {
	tok, _ := ctx.Value(tokenKey{}).(string)
	if tok == "" {
		return "", errors.New("no access token came with the request")
	}
	return tok, nil
}
