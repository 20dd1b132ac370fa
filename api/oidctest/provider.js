// A real OpenID Connect provider (the npm package oidc-provider) for the sign-in tests:
// started by api/signin_browser_test.go on 127.0.0.1, port chosen by the system. Its
// development login form takes any password; the login names the user. Two users:
// "coordinator" and "viewer" (also their sub), their roles in the "roles" claim of the
// ID token.
//
// Environment: CLIENT_ID, CLIENT_SECRET, REDIRECT_URI (the service's /auth/callback).
// It prints "LISTENING <port>" once it serves.
import http from 'node:http';
import Provider from 'oidc-provider';

const users = {
  coordinator: { name: 'Casey Coordinator', roles: ['trial-coordinator', 'staff'] },
  viewer: { name: 'Val Viewer', roles: ['trial-viewer'] },
};

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [{
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      redirect_uris: [process.env.REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    }],
    // PKCE is required of every client: a code without its verifier gets no tokens.
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    claims: { openid: ['sub'], profile: ['name', 'roles'] },
    // The profile claims go into the ID token itself (the service reads no userinfo).
    conformIdTokenClaims: false,
    findAccount: async (ctx, id) => {
      const user = users[id];
      if (!user) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...user }) };
    },
    cookies: { keys: ['trialscreen-test-provider-cookie-key'] },
  });
  provider.on('server_error', (ctx, err) => console.error('provider error:', err.message));
  server.on('request', provider.callback());
  console.log(`LISTENING ${port}`);
});
