package api

import "net/http"

// Caller is an authenticated REST or CDS Hooks caller.
type Caller struct {
	ID   string // a stable name for audit: a token's configured name, a JWT's subject or issuer
	User string // the user on whose behalf, when known
	// Role is a signed-in person's role (RoleCoordinator, RoleViewer); "" for a system
	// (a portal's token or JWT), which decides as its integration allows.
	Role string
}

// Roles of hospital staff signed in to the pages.
const (
	RoleCoordinator = "coordinator" // reads reports and decides review items
	RoleViewer      = "viewer"      // reads only
)

// CanDecide reports whether the caller may record review decisions: a coordinator or a
// system caller, never a viewer.
func (c Caller) CanDecide() bool { return c.Role != RoleViewer }

// Authenticator decides who a REST request comes from. It returns an error for a
// request that is not authenticated; the service answers it with a bare 401.
type Authenticator interface {
	Authenticate(r *http.Request) (Caller, error)
}
