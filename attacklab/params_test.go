package attacklab

import (
	"encoding/json"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerscore/peerscore"
)

// testdata/ethereum-params.json is `go run ./examples/params -format json`
// (1,000,000 validators, the defaults).

func TestLoadScoringReadsExamplesParams(t *testing.T) {
	got, err := LoadScoring("testdata/ethereum-params.json", "")
	if err != nil {
		t.Fatal(err)
	}
	want, err := EthereumScoring(1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.Name, "beacon_block") {
		t.Errorf("Name %q: want the beacon_block topic chosen", got.Name)
	}
	requireSameScoring(t, got, want)
}

// requireSameScoring compares every field but AppSpecificScore.
func requireSameScoring(t *testing.T, got, want Scoring) {
	t.Helper()
	if *got.Thresholds != *want.Thresholds {
		t.Errorf("thresholds %+v, want %+v", *got.Thresholds, *want.Thresholds)
	}
	if got.Params.AppSpecificScore == nil {
		t.Error("AppSpecificScore not set: New would refuse the parameters")
	}
	g, w := *got.Params, *want.Params
	g.AppSpecificScore, w.AppSpecificScore = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("params differ:\n got %+v\nwant %+v", g, w)
	}
	if *g.Topics[Topic] != *w.Topics[Topic] {
		t.Errorf("topic params %+v, want %+v", *g.Topics[Topic], *w.Topics[Topic])
	}
}

// TestLoadScoringReadsServedParams: a node's GET /params, saved as served
// (in scorehttp's {"data": …}) or as its data, is read as the document.
func TestLoadScoringReadsServedParams(t *testing.T) {
	want, err := EthereumScoring(1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(peerscore.ParamsDocument{Params: want.Params, Thresholds: want.Thresholds})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, body := range map[string]string{
		"served.json": `{"data": ` + string(doc) + `}`,
		"data.json":   string(doc),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := LoadScoring(path, "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Name != path+" (topic "+Topic+")" {
			t.Errorf("%s: Name %q, want the file's only topic", name, got.Name)
		}
		requireSameScoring(t, got, want)
	}
}

// TestLoadScoringPicksTopic: -topic, else the only topic, else the
// beacon_block topic.
func TestLoadScoringPicksTopic(t *testing.T) {
	raw, err := os.ReadFile("testdata/ethereum-params.json")
	if err != nil {
		t.Fatal(err)
	}
	const subnet = "/eth2/00000000/beacon_attestation_7/ssz_snappy"
	got, err := parseScoring(raw, subnet)
	if err != nil {
		t.Fatal(err)
	}
	var doc peerscore.ParamsDocument
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if got.Name != "topic "+subnet || *got.Params.Topics[Topic] != *doc.Params.Topics[subnet] {
		t.Errorf("-topic %s: got %s with %+v", subnet, got.Name, *got.Params.Topics[Topic])
	}
	if len(got.Params.Topics) != 1 {
		t.Errorf("topics %v: want the lab's one", slices.Collect(maps.Keys(got.Params.Topics)))
	}
}

func TestLoadScoringErrors(t *testing.T) {
	raw, err := os.ReadFile("testdata/ethereum-params.json")
	if err != nil {
		t.Fatal(err)
	}
	body := string(raw)
	var doc peerscore.ParamsDocument
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	// edit returns the file changed by change.
	edit := func(change func(*peerscore.ParamsDocument)) string {
		var d peerscore.ParamsDocument
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		change(&d)
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	block := doc.Params.Topics["/eth2/00000000/beacon_block/ssz_snappy"]
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, body, topic, want string
	}{
		{"missing topic", body, "/eth2/nope", `topic "/eth2/nope" is not in the file (it has /eth2/00000000/attester_slashing/ssz_snappy, `},
		{"misspelt field", strings.Replace(body, `"gossip_threshold"`, `"gossip_threshhold"`, 1), "", `thresholds: unknown field "gossip_threshhold"`},
		{"field in Go case", strings.Replace(body, `"gossip_threshold"`, `"GossipThreshold"`, 1), "", `thresholds: unknown field "GossipThreshold"`},
		{"bad duration", strings.Replace(body, `"decay_interval": "12s"`, `"decay_interval": 12`, 1), "", "params: decay_interval: want a duration string"},
		{"bad topic duration", strings.Replace(body, `"time_in_mesh_quantum": "12s"`, `"time_in_mesh_quantum": "12"`, 1), "",
			`params: topic "/eth2/00000000/attester_slashing/ssz_snappy": time_in_mesh_quantum: "12" is not a duration`},
		{"invalid value", strings.Replace(body, `"gossip_threshold": -4000`, `"gossip_threshold": 5`, 1), "", "GossipThreshold"},
		{"invalid topic value", edit(func(d *peerscore.ParamsDocument) {
			d.Params.Topics["/eth2/00000000/beacon_block/ssz_snappy"].TopicWeight = -1
		}), "", "TopicWeight"},
		{"old format", `{"summary": [], "thresholds": {"GossipThreshold": -1}, "params": {}, "topics": []}`, "", `unknown field "summary"`},
		{"no thresholds", `{"params": {"topics": {"a": {}}}}`, "", `want "params" and "thresholds"`},
		{"no topics", edit(func(d *peerscore.ParamsDocument) { clear(d.Params.Topics) }), "", `"topics" is empty`},
		{"no beacon_block", edit(func(d *peerscore.ParamsDocument) {
			d.Params.Topics = map[string]*peerscore.TopicParams{"a": block, "b": block}
		}), "", "the file scores 2 topics; choose the one the lab's traffic stands for with -topic (one of a, b)"},
		{"beacon_block topics differ", edit(func(d *peerscore.ParamsDocument) {
			other := *block
			other.TopicWeight *= 2
			d.Params.Topics["/eth2/11111111/beacon_block/ssz_snappy"] = &other
		}), "", "beacon_block topics /eth2/00000000/beacon_block/ssz_snappy, /eth2/11111111/beacon_block/ssz_snappy differ"},
		{"served error", `{"error": "cannot encode the response"}`, "", `unknown field "error"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadScoring(write(strings.ReplaceAll(c.name, " ", "-")+".json", c.body), c.topic)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestHardeningScoringScalesWithRate checks that at the evaluation's rate
// the parameters are the suite's, and that at a lower one the P3 penalty
// of a peer that delivers nothing is unchanged.
func TestHardeningScoringScalesWithRate(t *testing.T) {
	full := HardeningScoring(30*time.Second, 0, hardeningRate).Params.Topics[Topic]
	if full.MeshMessageDeliveriesThreshold != 10 || full.MeshMessageDeliveriesCap != 400 || full.MeshMessageDeliveriesWeight != -0.25 ||
		full.FirstMessageDeliveriesWeight != 0.664 || full.FirstMessageDeliveriesCap != 1500 || full.MeshMessageDeliveriesActivation != 90*time.Second {
		t.Fatalf("at 120 msg/s: %+v, want the suite's numbers", *full)
	}
	low := HardeningScoring(30*time.Second, 0, 1).Params.Topics[Topic]
	fullMax := full.MeshMessageDeliveriesWeight * full.MeshMessageDeliveriesThreshold * full.MeshMessageDeliveriesThreshold
	lowMax := low.MeshMessageDeliveriesWeight * low.MeshMessageDeliveriesThreshold * low.MeshMessageDeliveriesThreshold
	if d := fullMax - lowMax; d > 1e-9 || d < -1e-9 {
		t.Errorf("largest P3 penalty %v at 1 msg/s, %v at 120", lowMax, fullMax)
	}
	if got := low.MeshMessageDeliveriesThreshold; got != 10.0/120 {
		t.Errorf("P3 threshold at 1 msg/s %v, want 10/120", got)
	}
}

// TestHardeningScalingKeepsEveryComponent follows each counter of the
// hardening parameters from its largest value, weighted as the score
// weighs it, down to the moment it snaps to zero, at the evaluation's rate
// and at lower ones: the weighted value must start the same, and no
// counter may snap to zero sooner at a scaled rate than at 120 msg/s
// (issue 21: at 1 msg/s the whole P3b used to be below DecayToZero).
func TestHardeningScalingKeepsEveryComponent(t *testing.T) {
	// Each counter from the largest value it takes in a run (P2 and P3 at
	// their caps, P3b a whole deficit squared, P4 a burst of 10 invalid
	// messages, which is no rate), and the largest penalty or credit it
	// stands for.
	type component struct {
		name          string
		start, weight func(*peerscore.TopicParams) float64
		decay         func(*peerscore.TopicParams) float64
	}
	components := []component{
		{"P2",
			func(tp *peerscore.TopicParams) float64 { return tp.FirstMessageDeliveriesCap },
			func(tp *peerscore.TopicParams) float64 {
				return tp.FirstMessageDeliveriesCap * tp.FirstMessageDeliveriesWeight
			},
			func(tp *peerscore.TopicParams) float64 { return tp.FirstMessageDeliveriesDecay }},
		{"P3",
			func(tp *peerscore.TopicParams) float64 { return tp.MeshMessageDeliveriesCap },
			func(tp *peerscore.TopicParams) float64 {
				return tp.MeshMessageDeliveriesThreshold * tp.MeshMessageDeliveriesThreshold * tp.MeshMessageDeliveriesWeight
			},
			func(tp *peerscore.TopicParams) float64 { return tp.MeshMessageDeliveriesDecay }},
		{"P3b",
			func(tp *peerscore.TopicParams) float64 {
				return tp.MeshMessageDeliveriesThreshold * tp.MeshMessageDeliveriesThreshold
			},
			func(tp *peerscore.TopicParams) float64 {
				return tp.MeshMessageDeliveriesThreshold * tp.MeshMessageDeliveriesThreshold * tp.MeshFailurePenaltyWeight
			},
			func(tp *peerscore.TopicParams) float64 { return tp.MeshFailurePenaltyDecay }},
		{"P4",
			func(*peerscore.TopicParams) float64 { return 10 },
			func(tp *peerscore.TopicParams) float64 { return 100 * tp.InvalidMessageDeliveriesWeight },
			func(tp *peerscore.TopicParams) float64 { return tp.InvalidMessageDeliveriesDecay }},
	}
	// decays counts the decays until a counter at x snaps to zero.
	decays := func(x, factor, zero float64) int {
		n := 0
		for ; x >= zero; n++ {
			x *= factor
		}
		return n
	}
	full := HardeningScoring(30*time.Second, 0, hardeningRate).Params
	ftp := full.Topics[Topic]
	for _, rate := range []float64{0.5, 1, 10, 60} {
		low := HardeningScoring(30*time.Second, 0, rate).Params
		ltp := low.Topics[Topic]
		for _, c := range components {
			if fw, lw := c.weight(ftp), c.weight(ltp); math.Abs(fw-lw) > 1e-9*math.Abs(fw) {
				t.Errorf("%.3g msg/s, %s: spans %v, at 120 msg/s %v", rate, c.name, lw, fw)
			}
			nf := decays(c.start(ftp), c.decay(ftp), full.DecayToZero)
			nl := decays(c.start(ltp), c.decay(ltp), low.DecayToZero)
			if nl < nf {
				t.Errorf("%.3g msg/s, %s: snaps to zero after %d decays, at 120 msg/s after %d", rate, c.name, nl, nf)
			}
		}
	}
}

func TestScenarioPlans(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Honest, cfg.SybilScale, cfg.Rate, cfg.MaxSybilLinks = 1000, 1, hardeningRate, 0
	// hardening.md §2.10: Sybils and their links per attacked node at the
	// evaluation's scale.
	want := map[string]struct {
		sybils int
		links  float64
	}{
		"eclipse-single": {1000, 1000}, "eclipse-network": {4000, 400}, "eclipse-publishers": {1000, 1000},
		"censor-single": {2000, 200}, "degradation": {2000, 200}, "cold-boot": {4000, 80},
		"covert-flash": {4000, 80}, "attack-at-dawn": {4000, 80}, "ip-colocation": {4000, 80},
	}
	cfg.Publishers = 100
	for _, sc := range Scenarios[1:] {
		p := cfg.Plan(sc)
		w := want[sc.Name]
		if p.Sybils != w.sybils || p.SybilLinks != w.links {
			t.Errorf("%s: %d Sybils, %.0f links per attacked node; want %d, %.0f", sc.Name, p.Sybils, p.SybilLinks, w.sybils, w.links)
		}
		if p.PerIP != sc.PerIP {
			t.Errorf("%s: %d Sybils per IP, want %d", sc.Name, p.PerIP, sc.PerIP)
		}
	}
	if p := cfg.Plan(Scenarios[0]); p.Messages != 217 || p.Interval != 833333333 {
		t.Errorf("baseline: %d messages per publisher every %v; want 217 every 833.3ms (honest.go:206-207)", p.Messages, p.Interval)
	}
}

// TestOppGraftVariants checks that -oppgraft runs the suite's three
// variants with their own ticks and thresholds, and nothing else changes.
func TestOppGraftVariants(t *testing.T) {
	scs := withOppGraft(Scenarios)
	want := map[string]float64{"cold-boot-oppgraft": 1, "covert-flash-oppgraft": 10, "attack-at-dawn-oppgraft": 10}
	cfg := DefaultConfig()
	found := 0
	for i, sc := range scs {
		th, variant := want[sc.Name]
		gp := cfg.gossipSubParams(ArmPeerscore, sc)
		_, thr := cfg.scoringFor(sc)
		switch {
		case variant:
			found++
			if gp.OpportunisticGraftTicks != 10 || thr.OpportunisticGraftThreshold != th {
				t.Errorf("%s: ticks %d, threshold %v; want 10, %v", sc.Name, gp.OpportunisticGraftTicks, thr.OpportunisticGraftThreshold, th)
			}
			if vg := cfg.gossipSubParams(ArmVanilla, sc); vg.OpportunisticGraftTicks < 1<<40 {
				t.Errorf("%s: the vanilla arm grafts opportunistically", sc.Name)
			}
		case sc.Name != Scenarios[i].Name || gp.OpportunisticGraftTicks != 60 || thr.OpportunisticGraftThreshold != 0:
			t.Errorf("%s changed by -oppgraft: %s, ticks %d, threshold %v", Scenarios[i].Name, sc.Name, gp.OpportunisticGraftTicks, thr.OpportunisticGraftThreshold)
		}
	}
	if found != 3 {
		t.Errorf("%d variants, want 3", found)
	}
	if flash := scs[slices.IndexFunc(scs, func(s Scenario) bool { return s.Name == "covert-flash-oppgraft" })]; flash.HonestConnect != 10*time.Second {
		t.Errorf("covert-flash-oppgraft: honest nodes dial at %v, want 10s as its config", flash.HonestConnect)
	}
	if _, err := Lookup("attack-at-dawn-oppgraft"); err != nil {
		t.Error(err)
	}
}
