// Package web holds the static web client: HTML, CSS and JavaScript modules
// with no build step. Any static host can serve the directory as it is;
// cmd/local serves it at / from FS.
package web

import "embed"

// FS is the web client's files: index.html, config.json, style.css,
// favicon.svg and js/*.js.
//
//go:embed index.html config.json style.css favicon.svg js/*.js
var FS embed.FS
