package attention

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Request is one prompt typed into the explorer served by Server.
type Request struct {
	// Prompt is the text typed, or comma-separated token ids when Tokens is set.
	Prompt string `json:"prompt"`
	// Tokens says Prompt holds token ids rather than text.
	Tokens bool `json:"tokens"`
	// Checkpoint indexes ServerOptions.Checkpoints (0 when there are none).
	Checkpoint int `json:"checkpoint"`
}

// Func computes what the explorer shows for one request, typically by running a
// model (viz itself runs none). It should stop early when ctx is done (the page sent another
// prompt, or the server is shutting down). Its errors are shown in the page, so they should
// say what was wrong with the prompt in a user's words.
type Func func(ctx context.Context, req Request) (*Data, error)

// Checkpoint names one checkpoint a served run can step through.
type Checkpoint struct {
	Step  int    `json:"step"`
	Label string `json:"label,omitempty"` // shown instead of "step N" when set
}

// ServerOptions configure Server. The zero value serves one model with the defaults.
type ServerOptions struct {
	// Title heads the page (default "Attention explorer").
	Title string
	// Checkpoints, when a run has several, lets the page step through them; requests carry
	// the index of the one chosen (the last is chosen at start).
	Checkpoints []Checkpoint
	// Prompt is typed in and run when the page opens; empty: the page waits for one.
	Prompt string
	// TokensMode starts the page with the prompt kind "token ids"; NoText offers only that
	// kind (for models without a tokenizer).
	TokensMode, NoText bool
	// MaxPromptBytes limits a prompt (default DefaultMaxPromptBytes); longer ones are refused
	// with a message before fn is called.
	MaxPromptBytes int
	// MaxBodyBytes limits a request body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Bits is the storage precision of each answer, as Options.Bits.
	Bits int
	// Timeout bounds one request, fn included (default DefaultRequestTimeout).
	Timeout time.Duration
	// Routes serves more pages beside the explorer: a request whose path
	// starts with a key (a path prefix ending in '/') goes to its handler,
	// the longest matching prefix winning.
	Routes map[string]http.Handler
}

// Defaults of ServerOptions.
const (
	DefaultMaxPromptBytes = 4096
	DefaultMaxBodyBytes   = 64 << 10
	DefaultRequestTimeout = 2 * time.Minute
)

// Server is the local attention explorer: an http.Handler serving the explorer page
// at / and answering POST /api/attention (a JSON Request) with the data for the
// prompt, computed by its Func. Errors of any kind are answered as JSON
// {"error": "..."} with a 4xx or 5xx status and shown in the page; none stops the server.
// One request is computed at a time; others wait (or give up when their client does).
type Server struct {
	fn   Func
	opt  ServerOptions
	page []byte
	sem  chan struct{}
}

// NewServer builds the server's page and returns the handler. Serve it with
// ListenAndServe, which keeps it on loopback unless told otherwise.
func NewServer(fn Func, opt ServerOptions) (*Server, error) {
	if fn == nil {
		return nil, errors.New("attention server: the Func is nil")
	}
	if opt.MaxPromptBytes <= 0 {
		opt.MaxPromptBytes = DefaultMaxPromptBytes
	}
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultRequestTimeout
	}
	if _, err := bitsFor(opt.Bits, 0); err != nil {
		return nil, fmt.Errorf("attention server: %w", err)
	}
	for p, h := range opt.Routes {
		if !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") || p == "/" || p == "/api/" || h == nil {
			return nil, fmt.Errorf("attention server: route %q: want a path prefix such as /pages/ (not / or /api/) and a handler", p)
		}
	}
	title := strings.TrimSpace(opt.Title)
	if title == "" {
		title = "Attention explorer"
	}
	cfg := attentionConfig{Server: true, Checkpoints: opt.Checkpoints, Prompt: opt.Prompt,
		TokensMode: opt.TokensMode || opt.NoText, NoText: opt.NoText, MaxPrompt: opt.MaxPromptBytes}
	page, err := attentionPage(title, cfg, nil).AllowConnect("'self'").HTML()
	if err != nil {
		return nil, fmt.Errorf("attention server: %w", err)
	}
	return &Server{fn: fn, opt: opt, page: page, sem: make(chan struct{}, 1)}, nil
}

// httpError is an answer with a status and a message for the page.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func fail(status int, format string, args ...any) *httpError {
	return &httpError{status, fmt.Sprintf(format, args...)}
}

// ServeHTTP serves the page and the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	switch r.URL.Path {
	case "/", "/index.html":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeJSONError(w, fail(http.StatusMethodNotAllowed, "%s / is not allowed; use GET", r.Method))
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Write(s.page)
	case "/api/attention":
		s.serveAttention(w, r)
	default:
		best := ""
		for p := range s.opt.Routes {
			if strings.HasPrefix(r.URL.Path, p) && len(p) > len(best) {
				best = p
			}
		}
		if best == "" {
			writeJSONError(w, fail(http.StatusNotFound, "no such page: %s", r.URL.Path))
			return
		}
		s.opt.Routes[best].ServeHTTP(w, r)
	}
}

func (s *Server) serveAttention(w http.ResponseWriter, r *http.Request) {
	body, err := s.answer(r)
	if err != nil {
		writeJSONError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// answer checks the request, runs fn under the server's limits and encodes its data.
func (s *Server) answer(r *http.Request) (body []byte, err error) {
	if r.Method != http.MethodPost {
		return nil, fail(http.StatusMethodNotAllowed, "%s /api/attention is not allowed; use POST", r.Method)
	}
	// A JSON content type also keeps other sites' plain form posts out: theirs would need a
	// CORS preflight, which this server never grants.
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		return nil, fail(http.StatusUnsupportedMediaType, "the request must be JSON (Content-Type: application/json)")
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, s.opt.MaxBodyBytes+1))
	if err != nil {
		return nil, fail(http.StatusBadRequest, "reading the request: %v", err)
	}
	if int64(len(raw)) > s.opt.MaxBodyBytes {
		return nil, fail(http.StatusRequestEntityTooLarge, "the request is larger than this server's limit of %d bytes", s.opt.MaxBodyBytes)
	}
	if !utf8.Valid(raw) {
		// encoding/json would quietly turn the bad bytes into U+FFFD.
		return nil, fail(http.StatusBadRequest, "the request is not valid UTF-8")
	}
	var req Request
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, fail(http.StatusBadRequest, "the request is not a valid attention request: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail(http.StatusBadRequest, "the request has data after its JSON object")
	}
	switch {
	case strings.TrimSpace(req.Prompt) == "":
		return nil, fail(http.StatusBadRequest, "the prompt is empty")
	case len(req.Prompt) > s.opt.MaxPromptBytes:
		return nil, fail(http.StatusRequestEntityTooLarge, "the prompt is %d bytes; this server accepts at most %d", len(req.Prompt), s.opt.MaxPromptBytes)
	case len(s.opt.Checkpoints) == 0 && req.Checkpoint != 0:
		return nil, fail(http.StatusBadRequest, "checkpoint %d: this server has no checkpoints to choose from", req.Checkpoint)
	case len(s.opt.Checkpoints) > 0 && (req.Checkpoint < 0 || req.Checkpoint >= len(s.opt.Checkpoints)):
		return nil, fail(http.StatusBadRequest, "checkpoint %d is out of range [0, %d)", req.Checkpoint, len(s.opt.Checkpoints))
	}

	ctx, cancel := context.WithTimeout(r.Context(), s.opt.Timeout)
	defer cancel()
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	case <-ctx.Done():
		return nil, fail(http.StatusServiceUnavailable, "gave up waiting for an earlier prompt to finish: %v", ctx.Err())
	}
	d, err := s.call(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fail(http.StatusServiceUnavailable, "stopped: %v", err)
		}
		return nil, fail(http.StatusUnprocessableEntity, "%v", err)
	}
	p, err := encodeAttention(d, Options{Bits: s.opt.Bits})
	if err != nil {
		return nil, fail(http.StatusInternalServerError, "the data computed for this prompt is unusable: %v", err)
	}
	if body, err = json.Marshal(p); err != nil {
		return nil, fail(http.StatusInternalServerError, "encoding the answer: %v", err)
	}
	return body, nil
}

// call runs fn, turning a panic into an error so that one bad prompt cannot stop the server.
func (s *Server) call(ctx context.Context, req Request) (d *Data, err error) {
	defer func() {
		if v := recover(); v != nil {
			d, err = nil, fmt.Errorf("internal error while computing the attention: %v", v)
		}
	}()
	d, err = s.fn(ctx, req)
	if err == nil && d == nil {
		err = errors.New("no attention data was computed")
	}
	return d, err
}

func writeJSONError(w http.ResponseWriter, err error) {
	status, msg := http.StatusInternalServerError, err.Error()
	var he *httpError
	if errors.As(err, &he) {
		status = he.status
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Write(b)
}

// IsLoopback reports whether addr's host (an address for ListenAndServe such as
// "127.0.0.1:8080" or "localhost:0") is a loopback address.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackHosts refuses requests whose Host header names anything but this machine, so a web
// page elsewhere cannot reach a loopback server through DNS rebinding.
func loopbackHosts(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		host = strings.Trim(host, "[]")
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			writeJSONError(w, fail(http.StatusMisdirectedRequest, "this server answers only requests addressed to localhost, not %q", r.Host))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Connection limits of ListenAndServe, variables so that tests can shorten them.
var (
	// readTimeout bounds reading one request, body included, so that a client trickling
	// its body cannot hold a connection.
	readTimeout = 30 * time.Second
	// writeSlack is added to the request timeout (ServerOptions.Timeout for a *Server,
	// else DefaultRequestTimeout) to bound writing one answer, computation included.
	writeSlack = 30 * time.Second
	// idleTimeout closes a keep-alive connection idle that long.
	idleTimeout = 60 * time.Second
	// shutdownGrace is how long requests in flight have to finish after ctx is done;
	// connections left after it are closed.
	shutdownGrace = 5 * time.Second
)

// ListenAndServe serves h on addr (host:port; port 0 picks a free one) until ctx is done,
// then shuts down cleanly: it stops accepting connections, waits up to five seconds for
// requests in flight and closes whatever connections are left. Each connection has read,
// write and idle timeouts (30 s for a request, the request timeout plus 30 s for an
// answer, 60 s idle), so no client can hold one indefinitely. started, if not nil, is
// called with the server's URL once it listens. A loopback server answers only requests
// addressed to loopback (see IsLoopback). It returns nil after a shutdown, clean or
// forced.
func ListenAndServe(ctx context.Context, addr string, h http.Handler, started func(url string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	write := DefaultRequestTimeout
	if s, ok := h.(*Server); ok {
		write = s.opt.Timeout
	}
	if IsLoopback(addr) {
		h = loopbackHosts(h)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(10*time.Second, readTimeout),
		ReadTimeout:       readTimeout,
		WriteTimeout:      write + writeSlack,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	if started != nil {
		started("http://" + ln.Addr().String() + "/")
	}
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("serve: shutting down: %w", err)
		}
		// The grace period is over: close the connections still open (a client
		// trickling a request, say). Stopping is what was asked, so this is no error.
		srv.Close()
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
