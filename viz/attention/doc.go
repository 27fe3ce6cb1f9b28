// Package attention is the attention explorer: every head's pattern on one prompt as an
// interactive, self-contained page, and the same page served as a local app.
//
// Page renders a Data as a page: a grid of thumbnails drawn on canvas (hover to preview, click
// to lock, click again or Escape to unlock), the focused head large with a fixed colour scale
// and exact tooltips, a token strip, and query and key ranges. Patterns travel quantised to 8
// or 16 bits and compressed, so a 256-token prompt on a 12 × 12 model stays under 2 MB.
//
// Compute fills a Data by running a model (hooks.Run caching blocks.*.attn.hook_pattern).
// Server serves the page and answers each prompt typed in it through a Func; Models is the Func
// of a model or of a training run's checkpoints, loaded on demand. The server binds to loopback
// unless told otherwise, limits request and prompt sizes, and reports every error in the page
// (docs/attention-explorer.md).
//
// Head roles come from package report (report.AttentionRoles), so that this package imports
// no analysis package.
package attention
