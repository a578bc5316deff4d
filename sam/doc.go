// Package sam holds the AWS SAM template that deploys the system
// (template.yaml, with its defaults in samconfig.toml) and the tests that
// check it against the code: every function's directory and environment,
// every reference, the $connect authorizer, the routes, the tables and the
// least-privilege policies. The package has no code of its own.
package sam
