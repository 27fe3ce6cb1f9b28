// Package parallel runs work on goroutines so that a panic in one of them
// reaches the caller instead of ending the process. A panic on a goroutine
// other than the one a recover runs on cannot be caught there: an HTTP
// server that recovers each request's panics still dies when a model's
// worker goroutine panics. Group catches a worker's panic and re-raises it
// on the goroutine that waits, as a *Panic (an error), where the caller's
// own recover sees it.
package parallel
