package replay

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
)

// sliceSource is a Source of given events, ending with err (io.EOF if
// nil).
type sliceSource struct {
	evs      []Event
	format   Format
	err      error
	closed   int
	closeErr error
}

func (s *sliceSource) Format() Format { return s.format }

func (s *sliceSource) Next() (Event, error) {
	if len(s.evs) == 0 {
		if s.err != nil {
			return Event{}, s.err
		}
		return Event{}, io.EOF
	}
	ev := s.evs[0]
	s.evs = s.evs[1:]
	return ev, nil
}

func (s *sliceSource) Close() error { s.closed++; return s.closeErr }

// compared replays one recording under two sets: "strict" scores P4 at
// -20 an invalid message and P3; "lenient" P4 at -1 and no P3. Peer A
// sends an invalid message; the relayer, in the mesh, only late copies;
// the live scores the recording holds are the strict set's.
func compared(t *testing.T) (*Run, peer.ID) {
	relayer := peer.ID("relayer")
	strict, lenient := honestParams(), honestParams()
	strict.Topics[tt].InvalidMessageDeliveriesWeight = -20
	lenient.Topics[tt].MeshMessageDeliveriesWeight = 0
	evs := append(baseEvents(), streamEv(0, relayer), addrsEv(0, relayer, "10.0.0.3"), graftEv(0, relayer),
		rejectEv(ms(100), peerA, "bad", pubsub.RejectValidationFailed),
		extraAt(ms(200), Extra{Kind: KindScores, Scores: map[string]float64{peerA.String(): -20, peerB.String(): 0}}))
	for k := range 5 {
		id := fmt.Sprintf("m%d", k)
		evs = append(evs, deliverEv(time.Duration(k)*time.Second+ms(300), peerB, id), duplicateEv(time.Duration(k)*time.Second+ms(350), relayer, id))
	}
	cfg := func(p *peerscore.Params) Config {
		return Config{Params: p, Thresholds: testThresholds(), SnapshotEvery: ms(500)}
	}
	src := &sliceSource{evs: evs, format: FormatRecording}
	run, err := Replay(src, "trace.pb", []string{"strict.json", "lenient.json"}, []Config{cfg(strict), cfg(lenient)}, nil)
	require.NoError(t, err)
	return run, relayer
}

// TestCompare: the peers two sets put on different sides of a level, with
// the part they fell by and whether they looked honest.
func TestCompare(t *testing.T) {
	run, relayer := compared(t)
	require.Equal(t, []string{"strict.json", "lenient.json"}, run.Params)
	require.Len(t, run.Outcomes, 2)
	require.Equal(t, run.Disagreements, Compare(run.Outcomes[0], run.Outcomes[1]))

	byName := map[string]Disagreement{}
	for _, d := range run.Disagreements {
		byName[d.Peer+" "+d.Level.Name] = d
	}
	require.Len(t, byName, 2, "%+v", run.Disagreements)
	a := byName[peerA.String()+" gossip"]
	require.Equal(t, Disagreement{Peer: peerA.String(), Level: Level{"gossip", -10}, Below: 0, Component: string(peerscore.ComponentInvalidMessages),
		Value: -20, Other: -1}, a)
	r := byName[relayer.String()+" zero"]
	require.Equal(t, 0, r.Below)
	require.Equal(t, string(peerscore.ComponentMeshDeliveries), r.Component)
	require.Less(t, r.Value, 0.0)
	require.True(t, r.HonestLooking, "the relayer fell by P3 alone")
	require.Zero(t, r.Other)

	// The other way round, the other set pushed them.
	for _, d := range Compare(run.Outcomes[1], run.Outcomes[0]) {
		require.Equal(t, 1, d.Below)
		require.Equal(t, byName[d.Peer+" "+d.Level.Name].Value, d.Value)
	}
	require.Empty(t, Compare(run.Outcomes[0], run.Outcomes[0]))
	// A peer one set never saw is on the upper side of every level there.
	none := &Outcome{Levels: run.Outcomes[0].Levels}
	crossings := 0
	for _, p := range run.Outcomes[0].Peers {
		crossings += len(p.Crossed)
	}
	require.Equal(t, 3, crossings, "A below zero and gossip, the relayer below zero")
	require.Len(t, Compare(run.Outcomes[0], none), crossings)
}

// TestWrite: report.md, results.json and the plots.
func TestWrite(t *testing.T) {
	run, relayer := compared(t)
	dir := filepath.Join(t.TempDir(), "out")
	require.NoError(t, run.Write(dir))

	b, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	md := string(b)
	for _, want := range []string{
		"# Replay report",
		"- Trace: `trace.pb`, a peerscore recording: ",
		"- Parameters 1: strict.json\n- Parameters 2: lenient.json\n",
		"| part of the score | replayed | why |",
		"| P6 IP colocation | yes | ",
		"| P5 application score | no | ",
		"| P7 behaviour penalty | yes | ",
		"## Parameters 1: strict.json",
		"Against the live scores the recording holds: 2 scores at 1 instants, every one replayed to 1e-9.",
		"## Parameters 2: lenient.json",
		"Against the live scores the recording holds: 1 of 2 scores at 1 instants differ by more than 1e-9, by 19 at most; the first: " + peerA.String() + ": live -20, replayed -1",
		"| zero (0) | 2 of 3 | 1 |\n| gossip (-10) | 1 of 3 | 0 |\n| publish (-50) | 0 of 3 | 0 |\n| graylist (-80) | 0 of 3 | 0 |",
		"| zero (0) | 1 of 3 | 0 |\n| gossip (-10) | 0 of 3 | 0 |",
		"![scores](scores-1.svg)", "![scores](scores-2.svg)",
		"The 2 lowest peers that fell below zero:",
		"The 1 lowest peers that fell below zero:",
		"| `" + short(relayer.String()) + "` |",
		"## Where the two sets disagree",
		"| `" + short(peerA.String()) + "` | gossip | parameters 1 | P4 invalid messages (-20) | -1 | no |",
	} {
		require.Contains(t, md, want)
	}
	require.NotContains(t, md, "What the replay had to infer", "a recording infers nothing here")
	require.Less(t, strings.Index(md, "## Parameters 1"), strings.Index(md, "## Parameters 2"))

	b, err = os.ReadFile(filepath.Join(dir, "results.json"))
	require.NoError(t, err)
	var back Run
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, run.Trace, back.Trace)
	require.Equal(t, run.Params, back.Params)
	require.Equal(t, run.Disagreements, back.Disagreements)
	require.Equal(t, run.Wall, back.Wall)
	require.Len(t, back.Outcomes, 2)
	for i, o := range run.Outcomes {
		got := back.Outcomes[i]
		require.Equal(t, o.Levels, got.Levels)
		require.Equal(t, o.Band, got.Band)
		require.Equal(t, o.Check, got.Check)
		require.Equal(t, exported(o.Peers), got.Peers)
		require.Equal(t, o.Info.Span, got.Info.Span)
		require.Equal(t, o.Info.Events, got.Info.Events)
		require.Equal(t, o.Info.Format, got.Info.Format)
		require.Equal(t, o.Info.Trace, got.Info.Trace)
		require.Equal(t, o.Info.Extras, got.Info.Extras)
	}

	for i, name := range run.Params {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("scores-%d.svg", i+1)))
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(strings.TrimSpace(string(b)), "<svg") || strings.HasPrefix(string(b), "<?xml"), "scores-%d.svg", i+1)
		require.Contains(t, string(b), "Scores: "+name)
		require.Contains(t, string(b), "graylist -80")
	}

	// One set: no disagreement section, no second plot.
	one := &Run{Trace: "t", Params: run.Params[:1], Outcomes: run.Outcomes[:1]}
	dir = t.TempDir()
	require.NoError(t, one.Write(dir))
	b, err = os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	require.NotContains(t, string(b), "disagree")
	require.NoFileExists(t, filepath.Join(dir, "scores-2.svg"))
}

// exported are ps without their unexported fields, as JSON gives them
// back.
func exported(ps []PeerOutcome) []PeerOutcome {
	out := slices.Clone(ps)
	for i := range out {
		out[i].invalid, out[i].misbehaved, out[i].penalised = false, false, false
	}
	return out
}

// randomEvents is a random recording (or, with pubsub set, pubsub trace)
// of n events over about a minute, from 6 peers on 3 addresses.
func randomEvents(rng *rand.Rand, n int, asPubsub bool) []Event {
	peers := make([]peer.ID, 6)
	for i := range peers {
		peers[i] = peer.ID(fmt.Sprintf("peer-%d", i))
	}
	evs := []Event{joinEv(0)}
	if !asPubsub {
		evs = append([]Event{startEv()}, evs...)
	}
	for _, p := range peers {
		evs = append(evs, streamEv(0, p))
		if !asPubsub {
			evs = append(evs, addrsEv(0, p, fmt.Sprintf("10.0.0.%d", rng.IntN(3))))
		}
	}
	reasons := []string{pubsub.RejectValidationFailed, pubsub.RejectInvalidSignature, pubsub.RejectValidationIgnored, pubsub.RejectValidationThrottled}
	d := time.Duration(0)
	for range n {
		d += time.Duration(rng.IntN(300)) * time.Millisecond
		p := peers[rng.IntN(len(peers))]
		id := fmt.Sprintf("m%d", rng.IntN(40))
		switch k := rng.IntN(14); {
		case k == 0:
			evs = append(evs, graftEv(d, p))
		case k == 1:
			evs = append(evs, pruneEv(d, p))
		case k <= 4:
			evs = append(evs, deliverEv(d, p, id))
		case k <= 6:
			evs = append(evs, duplicateEv(d, p, id))
		case k == 7:
			evs = append(evs, rejectEv(d, p, id, reasons[rng.IntN(len(reasons))]))
		case k == 8:
			evs = append(evs, sendEv(d, p, iwantMeta(id)))
		case k == 9:
			evs = append(evs, sendEv(d, p, pruneMeta()))
			if !asPubsub && rng.IntN(2) == 0 {
				evs = append(evs, backoffsEv(d, p, uint64(rng.IntN(30))))
			}
		case k == 10:
			evs = append(evs, recvEv(d, p, graftMeta()))
		case k == 11:
			evs = append(evs, dropEv(d, p, messagesMeta(id, id+"'")))
		case k == 12 && rng.IntN(3) == 0:
			evs = append(evs, closedEv(d, p), streamEv(d+time.Millisecond, p))
		case !asPubsub:
			evs = append(evs, appEv(d, p, rng.Float64()*20-10))
		}
	}
	return evs
}

// TestRandomReplays: on random traces, whatever the replay found is
// finite, ordered and writes out; a peer's series keeps its lowest score.
func TestRandomReplays(t *testing.T) {
	params := engineParams()
	params.Topics[tt].InvalidMessageDeliveriesWeight = -50
	for seed := uint64(1); seed <= 8; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		pubsubTrace := seed%3 == 0
		f := FormatRecording
		if pubsubTrace {
			f = FormatProto
		}
		cfgs := []Config{{Params: params, Thresholds: testThresholds(), SnapshotEvery: ms(250)}, {Params: engineParams()}}
		run, err := Replay(&sliceSource{evs: randomEvents(rng, 600, pubsubTrace), format: f}, "random", []string{"a", "b"}, cfgs, nil)
		require.NoError(t, err)
		for i, o := range run.Outcomes {
			requireFinite(t, reflect.ValueOf(o), fmt.Sprintf("seed %d, outcome %d: ", seed, i))
			require.True(t, slices.IsSortedFunc(o.Peers, func(a, b PeerOutcome) int { return cmp.Compare(a.Min, b.Min) }))
			for k := 1; k < len(o.Band); k++ {
				if o.Band[k].At <= o.Band[k-1].At {
					t.Fatalf("seed %d: band sample %d at %v after one at %v", seed, k, o.Band[k].At, o.Band[k-1].At)
				}
			}
			for _, p := range o.Peers {
				require.LessOrEqual(t, len(p.Crossed), len(o.Levels))
				for k, c := range p.Crossed {
					require.Equal(t, o.Levels[k], c.Level, "the levels crossed, in order")
					require.LessOrEqual(t, c.First, o.Info.Span)
					require.LessOrEqual(t, c.Below, o.Info.Span)
					require.Less(t, c.Value, 0.0)
					require.LessOrEqual(t, p.Min, c.Level.Value)
				}
				if len(p.Crossed) > 0 {
					require.Equal(t, p.Min, slices.MinFunc(p.Samples, func(a, b Sample) int { return cmp.Compare(a.Score, b.Score) }).Score)
				} else {
					require.False(t, p.HonestLooking)
					require.GreaterOrEqual(t, p.Min, 0.0)
				}
			}
		}
		require.NoError(t, run.Write(t.TempDir()), "seed %d", seed)
	}
}

// requireFinite fails on a NaN or infinite float anywhere in v.
func requireFinite(t *testing.T, v reflect.Value, where string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Float64:
		if x := v.Float(); math.IsNaN(x) || math.IsInf(x, 0) {
			t.Fatalf("%s: %v", where, x)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			requireFinite(t, v.Elem(), where)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			requireFinite(t, v.Field(i), where+"."+v.Type().Field(i).Name)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			requireFinite(t, v.Index(i), where+"[]")
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			requireFinite(t, it.Value(), where+"[]")
		}
	}
}
