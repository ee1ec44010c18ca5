package scorehttp

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/bounded"
	"github.com/peerscore/peerscore/internal/option"
)

// errPrefix starts every error of the package, once.
const errPrefix = "peerscore/scorehttp"

// maxPeerIDText bounds the peer ID a request may name. Peer IDs as text
// are at most about 60 characters (base58 or base32 of a multihash of at
// most 42 bytes, in CID form); anything longer is refused before it is
// decoded.
const maxPeerIDText = 128

// Handler is an http.Handler that serves a Scorer's state as JSON, read
// only: the routes and shapes are in the package documentation. Create it
// with NewHandler and mount it under a prefix with http.StripPrefix. It is
// safe for concurrent use.
type Handler struct {
	scorer   *peerscore.Scorer
	gater    *ban.Gater
	logger   *slog.Logger
	maxPeers int
	// fullSnapshot admits one GET /scores at a time, so that concurrent
	// requests cannot each hold a copy of every peer's state at once.
	fullSnapshot chan struct{}
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns a Handler serving s's scores, snapshots, running
// totals and parameters and, with WithGater, the bans in force. Nil
// options are skipped.
func NewHandler(s *peerscore.Scorer, opts ...Option) (*Handler, error) {
	if s == nil {
		return nil, errors.New(errPrefix + ": NewHandler: nil Scorer")
	}
	cfg := defaultConfig()
	if err := option.Apply(errPrefix, &cfg, opts); err != nil {
		return nil, err
	}
	return &Handler{
		scorer:       s,
		gater:        cfg.gater,
		logger:       cfg.logger,
		maxPeers:     cfg.maxPeers,
		fullSnapshot: make(chan struct{}, 1),
	}, nil
}

// ServeHTTP answers GET and HEAD requests on the routes of the package
// documentation, relative to where the Handler is mounted; any other
// method gets 405, any other path 404, both with a JSON error.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.fail(w, http.StatusMethodNotAllowed, "method %s not allowed: the endpoints are read only (GET, HEAD)", r.Method)
		return
	}
	path := r.URL.Path
	switch {
	case path == "" || path == "/":
		h.serveIndex(w)
	case path == "/scores":
		h.serveScores(w, r)
	case strings.HasPrefix(path, "/peers/"):
		h.servePeer(w, strings.TrimPrefix(path, "/peers/"))
	case path == "/bans":
		h.serveBans(w, r)
	case path == "/stats":
		h.reply(w, http.StatusOK, envelope{Data: h.scorer.Stats()})
	case path == "/params":
		h.reply(w, http.StatusOK, envelope{Data: newParamsView(h.scorer.Params(), h.scorer.Thresholds())})
	default:
		h.fail(w, http.StatusNotFound, "no such endpoint; GET / lists them")
	}
}

// envelope is every successful response: the payload under "data", as
// Teku's and Lodestar's REST APIs have it, and for lists how many there
// were in all and whether the list was cut short.
type envelope struct {
	Data      any   `json:"data"`
	Total     *int  `json:"total,omitempty"`
	Truncated *bool `json:"truncated,omitempty"`
}

// list wraps the first n of total items.
func list(data any, n, total int) envelope {
	truncated := n < total
	return envelope{Data: data, Total: &total, Truncated: &truncated}
}

// errorBody is every error response.
type errorBody struct {
	Error string `json:"error"`
}

func (h *Handler) serveIndex(w http.ResponseWriter) {
	endpoints := []string{"/scores", "/peers/{id}", "/stats", "/params"}
	if h.gater != nil {
		endpoints = append(endpoints, "/bans")
	}
	h.reply(w, http.StatusOK, envelope{Data: map[string][]string{"endpoints": endpoints}})
}

// ScoreEntry is one peer in GET /scores.
type ScoreEntry struct {
	Peer      peer.ID `json:"peer"`
	Score     float64 `json:"score"`
	Connected bool    `json:"connected"`
	// Dominant is the component that explains the score best
	// (Snapshot.Dominant), and DominantValue its contribution; "" and 0
	// when every component is zero.
	Dominant      peerscore.Component `json:"dominant"`
	DominantValue float64             `json:"dominant_value"`
}

func (h *Handler) serveScores(w http.ResponseWriter, r *http.Request) {
	limit, ok := h.limit(w, r)
	if !ok {
		return
	}
	select {
	case h.fullSnapshot <- struct{}{}:
		defer func() { <-h.fullSnapshot }()
	case <-r.Context().Done():
		h.fail(w, http.StatusServiceUnavailable, "gave up waiting for another /scores request to finish")
		return
	}
	snaps := h.scorer.Snapshots()
	entries := make([]ScoreEntry, 0, len(snaps))
	for _, snap := range snaps {
		dominant, value := snap.Dominant()
		entries = append(entries, ScoreEntry{
			Peer: snap.Peer, Score: bounded.Finite(snap.Score), Connected: snap.Connected,
			Dominant: dominant, DominantValue: bounded.Finite(value),
		})
	}
	slices.SortFunc(entries, func(a, b ScoreEntry) int {
		return cmp.Or(cmp.Compare(a.Score, b.Score), cmp.Compare(a.Peer, b.Peer))
	})
	n := min(limit, len(entries))
	h.reply(w, http.StatusOK, list(entries[:n], n, len(entries)))
}

// PeerView is GET /peers/{id}'s data: the peer's Snapshot, with the
// component to blame and, with WithGater, the end of its ban.
type PeerView struct {
	peerscore.Snapshot
	Dominant      peerscore.Component `json:"dominant"`
	DominantValue float64             `json:"dominant_value"`
	BannedUntil   time.Time           `json:"banned_until,omitzero"`
}

// MarshalJSON writes the snapshot's fields and the view's own in one
// object. Without it, the embedded Snapshot's MarshalJSON would be promoted
// and the view's own fields dropped.
func (v PeerView) MarshalJSON() ([]byte, error) {
	snap, err := json.Marshal(v.Snapshot)
	if err != nil {
		return nil, err
	}
	own, err := json.Marshal(struct {
		Dominant      peerscore.Component `json:"dominant"`
		DominantValue float64             `json:"dominant_value"`
		BannedUntil   time.Time           `json:"banned_until,omitzero"`
	}{v.Dominant, bounded.Finite(v.DominantValue), v.BannedUntil})
	if err != nil {
		return nil, err
	}
	return joinObjects(snap, own), nil
}

// joinObjects merges two encoded JSON objects with distinct keys into one.
func joinObjects(a, b []byte) []byte {
	if len(b) <= 2 { // {}
		return a
	}
	out := make([]byte, 0, len(a)+len(b))
	out = append(out, a[:len(a)-1]...)
	out = append(out, ',')
	return append(out, b[1:]...)
}

func (h *Handler) servePeer(w http.ResponseWriter, text string) {
	switch {
	case text == "":
		h.fail(w, http.StatusBadRequest, "no peer ID: GET /peers/{id}")
		return
	case len(text) > maxPeerIDText:
		h.fail(w, http.StatusBadRequest, "malformed peer ID: longer than %d characters", maxPeerIDText)
		return
	case strings.Contains(text, "/"):
		h.fail(w, http.StatusNotFound, "no such endpoint; GET / lists them")
		return
	}
	p, err := peer.Decode(text)
	if err != nil {
		h.fail(w, http.StatusBadRequest, "malformed peer ID: %v", err)
		return
	}
	snap, ok := h.scorer.Snapshot(p)
	if !ok {
		h.fail(w, http.StatusNotFound, "peer %s is not known to the scorer", p)
		return
	}
	view := PeerView{Snapshot: snap}
	view.Dominant, view.DominantValue = snap.Dominant()
	if h.gater != nil {
		view.BannedUntil, _ = h.gater.Banned(p)
	}
	h.reply(w, http.StatusOK, envelope{Data: view})
}

func (h *Handler) serveBans(w http.ResponseWriter, r *http.Request) {
	if h.gater == nil {
		h.fail(w, http.StatusNotFound, "no bans to show: the handler was built without scorehttp.WithGater")
		return
	}
	limit, ok := h.limit(w, r)
	if !ok {
		return
	}
	bans := h.gater.Bans()
	n := min(limit, len(bans))
	h.reply(w, http.StatusOK, list(bans[:n], n, len(bans)))
}

// limit reads the limit query parameter, at most the cap and the cap if
// absent; it answers 400 itself and returns false if it is malformed.
func (h *Handler) limit(w http.ResponseWriter, r *http.Request) (int, bool) {
	text := r.URL.Query().Get("limit")
	if text == "" {
		return h.maxPeers, true
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 0 {
		h.fail(w, http.StatusBadRequest, "limit must be a whole number from 0 up (at most %d are returned)", h.maxPeers)
		return 0, false
	}
	return min(n, h.maxPeers), true
}

// reply writes v as JSON with status.
func (h *Handler) reply(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		h.logger.Error("peerscore/scorehttp: cannot encode a response", "err", err)
		status = http.StatusInternalServerError
		body, _ = json.Marshal(errorBody{Error: "cannot encode the response; the log says why"})
	}
	body = append(body, '\n')
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if _, err := w.Write(body); err != nil {
		h.logger.Debug("peerscore/scorehttp: response not delivered", "err", err)
	}
}

// fail writes a JSON error with status.
func (h *Handler) fail(w http.ResponseWriter, status int, format string, args ...any) {
	h.reply(w, status, errorBody{Error: fmt.Sprintf(format, args...)})
}
