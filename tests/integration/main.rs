//! Cross-function tests, one binary (ripgrep-style). The store is the DynamoDB adapter on the
//! local DynamoDB-API server that `scripts/test.sh` starts; WeChat is the stand-in.

// The test-support layer: the function list as a type, credentials, tables, sealed pushes.
mod support;
// A business subscribed to the bus (a queue on the local AWS emulator).
mod subscriber;
// Acting as an account: tokens lent, customer-service messages, idempotency.
mod acting;
// Replies by rule and the follower ledger: rules edited through the API answer pushes.
mod replies;
// Web authorization on behalf of accounts: the browser's round trip, tickets, every refusal.
mod web_auth;
// The hand-off to the bus: every push once, field by field; every failure injected.
mod handoff;
// Every list of the functions and routes held to tests/platform.json and template.yaml.
mod layout;
// Each function's DynamoDB policy held to the key families its code uses, recorded on the wire.
mod policies;
// The use cases against the stand-in (component token, authorization, refresh, recovery).
mod services;
// The WeChat client against the stand-in: every endpoint, every error class.
mod wechat_client;
// The platform behind a local API Gateway, WeChat pushing to it: the whole lifecycle.
mod flow;
// A minimal API Gateway: HTTP in, lambda_http request to the handlers, HTTP out.
mod gateway;
// Bad requests at every HTTP function: the contract's status, a log line, no store write.
mod bad_requests;
// events/: generated samples for every function, and the handler tests that load them.
mod events;
// DynamoDB calls per request, counted on the wire.
mod store_ops;
// 10,000 generated malformed requests per HTTP function: 4xx, no panic, no write.
mod hostile;
// Every log line of a full flow, searched for every secret the flow handled.
mod secrets;
// DynamoDB unavailable mid-test (a switchable proxy): 5xx everywhere, nothing written, the retry lands once.
mod outage;
// No authorization lost, stolen or stuck: every window recovered, owners bound to the link.
mod authorization;
// Per-identity limits: one tenant cannot spend what all of them share.
mod limits;
// Media: declared, staged in S3 (the emulator's), completed to WeChat; every bad file refused.
mod media;
// The account's custom menu: checked, published, read back, deleted (at the stand-in).
mod menus;
// Parametric QR codes: made, listed, their images, follows and scans counted from the bus.
mod qrcodes;
// JS-SDK on behalf: a page's wx.config signed with the account's ticket, fetched once.
mod jssdk;
// An account's API quota: read, reset within the month's budget, named when spent; permission preflight.
mod quota;
// The draft box: articles checked, reduced, resolved and kept at WeChat.
mod drafts;
// The optional edge: WeChat's push servers copied daily into its IP set (AWS WAF on the emulator).
mod edge;
// WeChat faults at every call site: bounded, clear, logged, nothing half written.
mod faults;
// 100 concurrent duplicate pushes; refreshers racing re-authorizations.
mod races;
