package scorehttp_test

// Tests of the Handler through real HTTP round trips: a server on a
// loopback port, requests with net/http's client, responses decoded.

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/test"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/scorehttp"
)

// mount is where the tests mount the handler, as a node would on its debug
// server.
const mount = "/debug/peerscore"

// network is a scorer with four peers of known scores, and a gater in
// which one of them is banned:
//
//	spammer  -40  two invalid messages on txs: P4 2²·-10
//	liar      -4  AddPenalty 2: P7 2²·-1
//	idle       0  connected, nothing else
//	good       3  first to deliver three messages on blocks: P2 3·1
type network struct {
	scorer                    *peerscore.Scorer
	gater                     *ban.Gater
	bannedUntil               time.Time
	spammer, liar, idle, good peer.ID
}

func thresholds() *peerscore.Thresholds {
	return &peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -20, GraylistThreshold: -30}
}

func params() *peerscore.Params {
	p := scoretest.Params(map[string]*peerscore.TopicParams{
		"blocks": scoretest.FirstTopic(1, 1, 100),
		"txs":    scoretest.InvalidTopic(1, -10),
	})
	p.BehaviourPenaltyWeight, p.BehaviourPenaltyDecay = -1, 0.5
	p.RetainScore = time.Hour
	return p
}

func newNetwork(t testing.TB) *network {
	t.Helper()
	n := &network{
		scorer:  scoretest.New(t, params(), peerscore.WithThresholds(thresholds())),
		gater:   ban.NewGater(),
		spammer: test.RandPeerIDFatal(t), liar: test.RandPeerIDFatal(t),
		idle: test.RandPeerIDFatal(t), good: test.RandPeerIDFatal(t),
	}
	s := n.scorer
	scoretest.Connect(s, n.spammer, n.liar, n.idle, n.good)
	scoretest.RejectN(s, "txs", "bad", n.spammer, 2)
	s.AddPenalty(n.liar, 2)
	scoretest.DeliverN(s, "blocks", "ok", n.good, 3)
	for p, want := range map[peer.ID]float64{n.spammer: -40, n.liar: -4, n.idle: 0, n.good: 3} {
		require.Equal(t, want, s.Score(p), "the scenario's scores, by hand")
	}
	n.bannedUntil = time.Now().Add(time.Hour)
	n.gater.Ban(n.spammer, n.bannedUntil)
	return n
}

// serve mounts a Handler of s under mount on a real server, as a node's
// debug server would, and returns the server's URL with the mount point.
func serve(t *testing.T, s *peerscore.Scorer, opts ...scorehttp.Option) string {
	t.Helper()
	h, err := scorehttp.NewHandler(s, opts...)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle(mount+"/", http.StripPrefix(mount, h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + mount
}

// response is a response read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{resp.StatusCode, resp.Header, body}
}

// get GETs url, checks that the answer is JSON with the wanted status,
// and decodes it into v.
func get(t *testing.T, url string, status int, v any) response {
	t.Helper()
	r := do(t, http.MethodGet, url)
	require.Equalf(t, status, r.status, "GET %s: %s", url, r.body)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	require.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
	require.NoErrorf(t, json.Unmarshal(r.body, v), "GET %s: %s", url, r.body)
	return r
}

// requireError GETs url and checks that it fails with status and a JSON
// error message containing want.
func requireError(t *testing.T, method, url string, status int, want string) {
	t.Helper()
	r := do(t, method, url)
	require.Equalf(t, status, r.status, "%s %s: %s", method, url, r.body)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	var e struct{ Error string }
	require.NoErrorf(t, json.Unmarshal(r.body, &e), "%s %s: %s", method, url, r.body)
	require.Containsf(t, e.Error, want, "%s %s", method, url)
}

type scoresBody struct {
	Data      []scorehttp.ScoreEntry `json:"data"`
	Total     int                    `json:"total"`
	Truncated bool                   `json:"truncated"`
}

// TestScores: every peer, worst first, with the scores the scorer gives
// and the component to blame; limit cuts the list, the hard cap bounds it.
func TestScores(t *testing.T) {
	n := newNetwork(t)
	base := serve(t, n.scorer, scorehttp.WithGater(n.gater))

	var got scoresBody
	get(t, base+"/scores", http.StatusOK, &got)
	require.Equal(t, []scorehttp.ScoreEntry{
		{Peer: n.spammer, Score: -40, Connected: true, Dominant: peerscore.ComponentInvalidMessages, DominantValue: -40},
		{Peer: n.liar, Score: -4, Connected: true, Dominant: peerscore.ComponentBehaviourPenalty, DominantValue: -4},
		{Peer: n.idle, Score: 0, Connected: true},
		{Peer: n.good, Score: 3, Connected: true, Dominant: peerscore.ComponentFirstDeliveries, DominantValue: 3},
	}, got.Data)
	require.Equal(t, 4, got.Total)
	require.False(t, got.Truncated)

	// Peer IDs are text on the wire, as the peers are known elsewhere.
	var raw struct{ Data []map[string]any }
	get(t, base+"/scores?limit=2", http.StatusOK, &raw)
	require.Len(t, raw.Data, 2)
	require.Equal(t, n.spammer.String(), raw.Data[0]["peer"])
	require.Equal(t, "P4 invalid messages", raw.Data[0]["dominant"])

	got = scoresBody{}
	get(t, base+"/scores?limit=1", http.StatusOK, &got)
	require.Equal(t, []peer.ID{n.spammer}, peers(got.Data), "the worst")
	require.Equal(t, 4, got.Total)
	require.True(t, got.Truncated)

	got = scoresBody{}
	get(t, base+"/scores?limit=0", http.StatusOK, &got)
	require.Empty(t, got.Data)
	require.Equal(t, 4, got.Total, "the count alone")

	for _, bad := range []string{"-1", "x", "1.5", "99999999999999999999999", "%00"} {
		requireError(t, http.MethodGet, base+"/scores?limit="+bad, http.StatusBadRequest, "limit must be a whole number")
	}

	capped := serve(t, n.scorer, scorehttp.WithMaxPeers(2))
	got = scoresBody{}
	get(t, capped+"/scores?limit=1000000", http.StatusOK, &got)
	require.Equal(t, []peer.ID{n.spammer, n.liar}, peers(got.Data), "never more than the cap")
	require.True(t, got.Truncated)
	got = scoresBody{}
	get(t, capped+"/scores", http.StatusOK, &got)
	require.Len(t, got.Data, 2, "the cap is the default limit")
}

func peers(entries []scorehttp.ScoreEntry) []peer.ID {
	out := make([]peer.ID, len(entries))
	for i, e := range entries {
		out[i] = e.Peer
	}
	return out
}

// TestScoresRetained: a disconnected peer kept for its bad score is
// listed, not connected.
func TestScoresRetained(t *testing.T) {
	n := newNetwork(t)
	n.scorer.Tracer().OnClosedOutboundStream(n.spammer)
	var got scoresBody
	get(t, serve(t, n.scorer)+"/scores?limit=1", http.StatusOK, &got)
	require.Equal(t, []scorehttp.ScoreEntry{
		{Peer: n.spammer, Score: -40, Dominant: peerscore.ComponentInvalidMessages, DominantValue: -40},
	}, got.Data)
}

// TestPeer: one peer's snapshot as it marshals, with the component to
// blame and its ban; 404 for a peer the scorer does not know, 400 for
// anything that is not a peer ID.
func TestPeer(t *testing.T) {
	n := newNetwork(t)
	base := serve(t, n.scorer, scorehttp.WithGater(n.gater))

	var got struct{ Data map[string]any }
	get(t, base+"/peers/"+n.spammer.String(), http.StatusOK, &got)
	d := got.Data
	require.Equal(t, n.spammer.String(), d["peer"])
	require.Equal(t, -40.0, d["score"])
	require.Equal(t, true, d["connected"])
	require.Equal(t, "P4 invalid messages", d["dominant"])
	require.Equal(t, -40.0, d["dominant_value"])
	txs := d["topics"].(map[string]any)["txs"].(map[string]any)
	require.Equal(t, 2.0, txs["invalid_message_deliveries"])
	require.Equal(t, -40.0, txs["p4"])
	require.Equal(t, "0s", txs["time_in_mesh"])
	until, err := time.Parse(time.RFC3339Nano, d["banned_until"].(string))
	require.NoError(t, err)
	require.True(t, until.Equal(n.bannedUntil), "banned until %v, want %v", until, n.bannedUntil)

	// The whole snapshot, field for field, as the scorer marshals it.
	snap := scoretest.Snap(t, n.scorer, n.good)
	want, err := json.Marshal(snap)
	require.NoError(t, err)
	var wantFields, gotFields map[string]any
	require.NoError(t, json.Unmarshal(want, &wantFields))
	wantFields["dominant"], wantFields["dominant_value"] = "P2 first deliveries", 3.0
	get(t, base+"/peers/"+n.good.String(), http.StatusOK, &struct{ Data *map[string]any }{&gotFields})
	require.Equal(t, wantFields, gotFields, "not banned: no banned_until")

	// The CID form names the same peer.
	get(t, base+"/peers/"+peer.ToCid(n.good).String(), http.StatusOK, &got)
	require.Equal(t, n.good.String(), got.Data["peer"])

	requireError(t, http.MethodGet, base+"/peers/"+test.RandPeerIDFatal(t).String(), http.StatusNotFound, "is not known to the scorer")
	for _, bad := range []string{
		"notapeer", "QmQmQm", "1", "0", "%00%ff", "%F0%9F%98%80", "bafkqaaa",
		strings.Repeat("Q", 129), strings.Repeat("1", 1<<16), n.good.String() + "x",
	} {
		requireError(t, http.MethodGet, base+"/peers/"+bad, http.StatusBadRequest, "malformed peer ID")
	}
	requireError(t, http.MethodGet, base+"/peers/", http.StatusBadRequest, "no peer ID")
	requireError(t, http.MethodGet, base+"/peers/"+n.good.String()+"/topics", http.StatusNotFound, "no such endpoint")
	requireError(t, http.MethodGet, base+"/peers/"+n.good.String()+"%2Ftopics", http.StatusNotFound, "no such endpoint")
}

// TestPeerInfiniteScore: with an application score of -Inf the score is
// -Inf, which JSON cannot hold; it is written as -MaxFloat64, as the
// metrics do, rather than failing the request.
func TestPeerInfiniteScore(t *testing.T) {
	p := params()
	victim := test.RandPeerIDFatal(t)
	p.AppSpecificScore = func(q peer.ID) float64 {
		if q == victim {
			return math.Inf(-1)
		}
		return 0
	}
	p.AppSpecificWeight = 1
	s := scoretest.New(t, p)
	scoretest.Connect(s, victim)
	require.True(t, math.IsInf(s.Score(victim), -1))
	base := serve(t, s)

	var one struct{ Data map[string]any }
	get(t, base+"/peers/"+victim.String(), http.StatusOK, &one)
	for _, field := range []string{"score", "p5", "app_specific_score", "dominant_value"} {
		require.Equalf(t, -math.MaxFloat64, one.Data[field], "%s", field)
	}
	var all scoresBody
	get(t, base+"/scores", http.StatusOK, &all)
	require.Equal(t, -math.MaxFloat64, all.Data[0].Score)
	require.Equal(t, -math.MaxFloat64, all.Data[0].DominantValue)
}

// TestBans: the bans in force in the gater, soonest to end first, an
// ended one gone; without a gater, 404.
func TestBans(t *testing.T) {
	n := newNetwork(t)
	soon := time.Now().Add(time.Minute)
	n.gater.Ban(n.liar, soon)
	n.gater.Ban(n.good, time.Now().Add(time.Hour))
	n.gater.Unban(n.good)
	base := serve(t, n.scorer, scorehttp.WithGater(n.gater))

	var got struct {
		Data      []ban.Entry `json:"data"`
		Total     int         `json:"total"`
		Truncated bool        `json:"truncated"`
	}
	get(t, base+"/bans", http.StatusOK, &got)
	require.Len(t, got.Data, 2)
	require.Equal(t, n.liar, got.Data[0].Peer)
	require.True(t, got.Data[0].Until.Equal(soon))
	require.Equal(t, n.spammer, got.Data[1].Peer)
	require.True(t, got.Data[1].Until.Equal(n.bannedUntil))
	require.Equal(t, 2, got.Total)
	require.False(t, got.Truncated)

	get(t, base+"/bans?limit=1", http.StatusOK, &got)
	require.Len(t, got.Data, 1)
	require.Equal(t, 2, got.Total)
	require.True(t, got.Truncated)
	requireError(t, http.MethodGet, base+"/bans?limit=no", http.StatusBadRequest, "limit")

	requireError(t, http.MethodGet, serve(t, n.scorer)+"/bans", http.StatusNotFound, "without scorehttp.WithGater")
}

// TestStats: the running totals, as Stats returns them.
func TestStats(t *testing.T) {
	n := newNetwork(t)
	var got struct{ Data peerscore.Stats }
	get(t, serve(t, n.scorer)+"/stats", http.StatusOK, &got)
	require.Equal(t, n.scorer.Stats(), got.Data)
	require.Equal(t, 4, got.Data.Peers)
	require.Equal(t, uint64(2), got.Data.Penalties[peerscore.PenaltyInvalidMessage])
	require.Equal(t, uint64(2), got.Data.Penalties[peerscore.PenaltyAddPenalty])
	require.Equal(t, 5, got.Data.DeliveryRecords, "3 delivered, 2 rejected")
}

// TestParams: the parameters and thresholds the scorer scores with,
// durations as text, without the application's function.
func TestParams(t *testing.T) {
	n := newNetwork(t)
	require.NoError(t, n.scorer.SetTopicParams("late", scoretest.FirstTopic(0.5, 1, 10)))
	base := serve(t, n.scorer)
	var got struct {
		Data struct {
			Params     map[string]any
			Thresholds map[string]any
		}
	}
	get(t, base+"/params", http.StatusOK, &got)
	p := got.Data.Params
	require.Equal(t, "1s", p["decay_interval"])
	require.Equal(t, "1h0m0s", p["retain_score"])
	require.Equal(t, -1.0, p["behaviour_penalty_weight"])
	require.NotContains(t, p, "app_specific_score", "a function is not data")
	topics := p["topics"].(map[string]any)
	require.Len(t, topics, 3, "topics added with SetTopicParams included")
	require.Equal(t, 0.5, topics["late"].(map[string]any)["topic_weight"])
	require.Equal(t, -10.0, topics["txs"].(map[string]any)["invalid_message_deliveries_weight"])
	require.Equal(t, map[string]any{
		"skip_atomic_validation": false, "gossip_threshold": -10.0, "publish_threshold": -20.0,
		"graylist_threshold": -30.0, "accept_px_threshold": 0.0, "opportunistic_graft_threshold": 0.0,
	}, got.Data.Thresholds)

	var none struct{ Data map[string]any }
	get(t, serve(t, scoretest.New(t, params()))+"/params", http.StatusOK, &none)
	require.Contains(t, none.Data, "thresholds")
	require.Nil(t, none.Data["thresholds"], "a scorer without thresholds")
}

// TestIndex lists the endpoints, /bans only with a gater.
func TestIndex(t *testing.T) {
	n := newNetwork(t)
	var got struct{ Data struct{ Endpoints []string } }
	get(t, serve(t, n.scorer, scorehttp.WithGater(n.gater))+"/", http.StatusOK, &got)
	require.Equal(t, []string{"/scores", "/peers/{id}", "/stats", "/params", "/bans"}, got.Data.Endpoints)
	get(t, serve(t, n.scorer)+"/", http.StatusOK, &got)
	require.Equal(t, []string{"/scores", "/peers/{id}", "/stats", "/params"}, got.Data.Endpoints)
}

// TestReadOnly: every method but GET and HEAD gets 405 with Allow and a
// JSON error, on every route, and changes nothing; HEAD answers as GET
// without a body.
func TestReadOnly(t *testing.T) {
	n := newNetwork(t)
	base := serve(t, n.scorer, scorehttp.WithGater(n.gater))
	before, bans := n.scorer.Snapshots(), n.gater.Bans()
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions, "BAN"} {
		for _, path := range []string{"/", "/scores", "/peers/" + n.spammer.String(), "/bans", "/stats", "/params", "/nowhere"} {
			requireError(t, method, base+path, http.StatusMethodNotAllowed, "not allowed")
			r := do(t, method, base+path)
			require.Equal(t, "GET, HEAD", r.header.Get("Allow"))
		}
	}
	require.Equal(t, before, n.scorer.Snapshots())
	require.Equal(t, bans, n.gater.Bans())

	get := do(t, http.MethodGet, base+"/scores")
	head := do(t, http.MethodHead, base+"/scores")
	require.Equal(t, http.StatusOK, head.status)
	require.Empty(t, head.body)
	require.Equal(t, "application/json", head.header.Get("Content-Type"))
	require.Equal(t, get.header.Get("Content-Length"), head.header.Get("Content-Length"))
}

// TestOddPaths: anything but the routes is a JSON 404.
func TestOddPaths(t *testing.T) {
	n := newNetwork(t)
	base := serve(t, n.scorer, scorehttp.WithGater(n.gater))
	for _, path := range []string{
		"/nowhere", "/scores/", "/SCORES", "/stats/x", "/peers", "/params.json", "/bans/",
		"/%00", "/" + strings.Repeat("a", 1<<14),
	} {
		requireError(t, http.MethodGet, base+path, http.StatusNotFound, "no such endpoint")
	}
}

// TestNewHandlerErrors: bad arguments are refused with the package's
// prefix once; nil options are skipped.
func TestNewHandlerErrors(t *testing.T) {
	s := scoretest.New(t, params())
	for name, tc := range map[string]struct {
		s    *peerscore.Scorer
		opts []scorehttp.Option
		want string
	}{
		"nil Scorer":   {nil, nil, "peerscore/scorehttp: NewHandler: nil Scorer"},
		"nil gater":    {s, []scorehttp.Option{scorehttp.WithGater(nil)}, "peerscore/scorehttp: WithGater: nil gater"},
		"nil logger":   {s, []scorehttp.Option{scorehttp.WithLogger(nil)}, "peerscore/scorehttp: WithLogger: nil logger"},
		"zero cap":     {s, []scorehttp.Option{scorehttp.WithMaxPeers(0)}, "peerscore/scorehttp: WithMaxPeers: 0 is not positive"},
		"negative cap": {s, []scorehttp.Option{scorehttp.WithMaxPeers(-3)}, "peerscore/scorehttp: WithMaxPeers: -3 is not positive"},
	} {
		h, err := scorehttp.NewHandler(tc.s, tc.opts...)
		require.EqualErrorf(t, err, tc.want, "%s", name)
		require.Nilf(t, h, "%s: a Handler came back with the error", name)
	}
	h, err := scorehttp.NewHandler(s, nil, scorehttp.WithMaxPeers(1), nil)
	require.NoError(t, err, "nil options are skipped")
	require.NotNil(t, h)
}

// FuzzHandler: whatever the path and query, the answer is JSON with a
// status among those documented, and a body within the cap.
func FuzzHandler(f *testing.F) {
	n := newNetwork(f)
	h, err := scorehttp.NewHandler(n.scorer, scorehttp.WithGater(n.gater), scorehttp.WithMaxPeers(3))
	require.NoError(f, err)
	for _, seed := range []string{
		"/", "/scores", "/scores?limit=2", "/scores?limit=-1&limit=3", "/peers/" + n.good.String(),
		"/peers/" + peer.ToCid(n.spammer).String(), "/peers/", "/peers/x/y", "/bans?limit=0", "/stats", "/params",
		"/%zz", "//scores", "/scores?%", "/peers/" + strings.Repeat("1", 200),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, target string) {
		req, err := http.NewRequest(http.MethodGet, "http://node"+target, nil)
		if err != nil || req.URL.Host != "node" {
			return // not a request a server would hand the handler
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Contains(t, []int{http.StatusOK, http.StatusBadRequest, http.StatusNotFound}, rec.Code, target)
		require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		require.True(t, json.Valid(rec.Body.Bytes()), "%s: %s", target, rec.Body)
		require.Less(t, rec.Body.Len(), 4096, "%s: three entries at most", target)
	})
}
