// Package sam holds the AWS SAM template that deploys the system
// (template.yaml, with its defaults in samconfig.toml) and the tests that
// check it against the code: every function's build target and environment
// (against internal/config), the $connect authorizer, the routes and their
// automatic deployment, the tables and the user pool with what RetainData
// keeps, the parameters' validation, and the least-privilege policies.
// cfn-lint, run by scripts/test, checks the rest. The package has no code
// of its own.
package sam
