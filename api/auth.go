package api

import "net/http"

// Caller is an authenticated REST or CDS Hooks caller.
type Caller struct {
	ID   string // a stable name for audit: a token's configured name, a JWT's subject or issuer
	User string // the user on whose behalf, when known
}

// Authenticator decides who a REST request comes from. It returns an error for a
// request that is not authenticated; the service answers it with a bare 401.
type Authenticator interface {
	Authenticate(r *http.Request) (Caller, error)
}
