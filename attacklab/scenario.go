package attacklab

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Targets says which honest nodes a scenario's Sybils dial.
type Targets int

// The Sybils' choice of honest nodes to dial.
const (
	// TargetAll: each Sybil dials AttackDegree random honest nodes.
	TargetAll Targets = iota
	// TargetPublishers: each Sybil dials AttackDegree random publishers
	// (hardening: publishers_only, test/discovery.go:106).
	TargetPublishers
	// TargetOne: every Sybil dials the same node, the first publisher
	// (hardening: single_node, SinglePublisherTopology, run.go:376-380,
	// discovery.go:126-143).
	TargetOne
)

func (t Targets) String() string {
	switch t {
	case TargetPublishers:
		return "publishers"
	case TargetOne:
		return "one publisher"
	}
	return "all honest"
}

// Scenario is one attack of the gossipsub v1.1 evaluation (Vyzovitis et
// al., arXiv 2007.02754), as the hardening suite's saved configuration
// ran it at 1,000 honest nodes. Run scales its Sybil numbers to the
// Config's network (see Plan).
type Scenario struct {
	Name   string // what -scenario takes
	Title  string
	Source string // the hardening suite's configuration and the report's section

	// Sybils is the number of Sybils at 1,000 honest nodes; PerIP how many
	// of them share one IP address (hardening: attackers_per_container:
	// Sybils of one container share its IP, README.md:313-316).
	Sybils, PerIP int
	// AttackDegree is how many honest nodes each Sybil dials, among
	// Targets.
	AttackDegree int
	Targets      Targets

	// SybilConnect and HonestConnect are the base connect delays after the
	// start, each node's delay drawn from [1.05, 1.15]×base (run.go:437-448).
	SybilConnect, HonestConnect time.Duration
	// AttackDelay is how long a Sybil behaves (forwards everything) after
	// its dials before it attacks (badboy.go:76-90).
	AttackDelay time.Duration
	// Drop is the probability an attacking Sybil drops a message it would
	// forward (sybil_degrade; badboy.go:164-167).
	Drop float64
	// Censor makes attacking Sybils drop every message of the first
	// publisher and forward everything else (censor_single_node;
	// run.go:328-338, badboy.go:159-162).
	Censor bool
	// Run is how long the publishers publish (t_run).
	Run time.Duration
	// ColocationWeight, when nonzero, is the IP colocation weight (P6,
	// threshold 1) of the hardening parameters in this scenario; the
	// other scenarios run with P6 off. Parameters given with -params or
	// -preset keep their own P6.
	ColocationWeight float64
	// Hurts says whether the attack, unscored, is expected to cost honest
	// delivery or latency; the tests check that it does.
	Hurts bool
	// OppGraftTicks, in the suite's -oppgraft variants, is how many
	// heartbeats apart the routers graft opportunistically (else the
	// config's), and OppGraftThreshold the opportunistic-graft threshold
	// with the hardening parameters.
	OppGraftTicks     uint64
	OppGraftThreshold float64
}

// hardeningRun is t_run of every config but covert flash (main.time.t_run
// "3m" in scripts/configs/1k*.json).
const hardeningRun = 3 * time.Minute

// hardeningSybilConnect is the Sybils' connect_delay of the eclipse,
// censor and degradation configs ("<n>@1m").
const hardeningSybilConnect = time.Minute

// Scenarios are the baseline and the nine attacks, in the order of the
// evaluation report (PL-TechRep-2020-001, §6-§15). Every number is the
// saved configuration's (hardening: scripts/configs/<file>.json, read via
// /work/briefs/hardening.md §3).
var Scenarios = []Scenario{
	{
		Name: "baseline", Title: "Baseline, no attack",
		Source: "hardening: scripts/configs/1k.json; report §6",
		Run:    hardeningRun,
	},
	{
		// 250 containers × 4 = 1000 Sybils, attack_degree 1, single_node,
		// connect_delay 1000@1m, sybil_degrade 1.0.
		Name: "eclipse-single", Title: "Eclipse attack against a single target",
		Source: "hardening: scripts/configs/1k-attack-eclipse-single.json; report §7",
		Sybils: 1000, PerIP: 4, AttackDegree: 1, Targets: TargetOne,
		SybilConnect: hardeningSybilConnect, Drop: 1, Run: hardeningRun, Hurts: true,
	},
	{
		// 250 × 16 = 4000 Sybils, attack_degree 100, connect_delay 4000@1m.
		Name: "eclipse-network", Title: "Eclipse attack against the whole network",
		Source: "hardening: scripts/configs/1k-attack-eclipse-net.json; report §8",
		Sybils: 4000, PerIP: 16, AttackDegree: 100, Targets: TargetAll,
		SybilConnect: hardeningSybilConnect, Drop: 1, Run: hardeningRun, Hurts: true,
	},
	{
		// 250 × 4 = 1000 Sybils, publishers_only, attack_degree 100 (every
		// publisher), connect_delay 1000@1m.
		Name: "eclipse-publishers", Title: "Eclipse attack against all publishers",
		Source: "hardening: scripts/configs/1k-attack-eclipse-publishers.json; report §9",
		Sybils: 1000, PerIP: 4, AttackDegree: 100, Targets: TargetPublishers,
		SybilConnect: hardeningSybilConnect, Drop: 1, Run: hardeningRun, Hurts: true,
	},
	{
		// 250 × 8 = 2000 Sybils, attack_degree 100, censor_single_node,
		// sybil_degrade 0.0, connect_delay 2000@1m.
		Name: "censor-single", Title: "Censorship of a single target",
		Source: "hardening: scripts/configs/1k-attack-censor-single.json; report §10",
		Sybils: 2000, PerIP: 8, AttackDegree: 100, Targets: TargetAll,
		SybilConnect: hardeningSybilConnect, Censor: true, Run: hardeningRun, Hurts: true,
	},
	{
		// 250 × 8 = 2000 Sybils, attack_degree 100, sybil_degrade 0.5,
		// connect_delay 2000@1m.
		Name: "degradation", Title: "Network degradation",
		Source: "hardening: scripts/configs/1k-attack-degrade-0.5.json; report §11",
		Sybils: 2000, PerIP: 8, AttackDegree: 100, Targets: TargetAll,
		SybilConnect: hardeningSybilConnect, Drop: 0.5, Run: hardeningRun, Hurts: true,
	},
	{
		// 250 × 16 = 4000 Sybils, attack_degree 20, everyone dials at 0s.
		Name: "cold-boot", Title: "Cold boot",
		Source: "hardening: scripts/configs/1k-attack-cold-boot.json; report §12",
		Sybils: 4000, PerIP: 16, AttackDegree: 20, Targets: TargetAll,
		Drop: 1, Run: hardeningRun, Hurts: true,
	},
	{
		// As cold boot, with sybil_attack_delay 2m and t_run 5m.
		Name: "covert-flash", Title: "Covert flash",
		Source: "hardening: scripts/configs/1k-attack-cold-boot-covert-flash.json; report §13",
		Sybils: 4000, PerIP: 16, AttackDegree: 20, Targets: TargetAll,
		AttackDelay: 2 * time.Minute, Drop: 1, Run: 5 * time.Minute, Hurts: true,
	},
	{
		// Sybils dial at 0s, honest nodes at 10s (connect_delay
		// 1000@10s for the honest groups).
		Name: "attack-at-dawn", Title: "Attack at dawn",
		Source: "hardening: scripts/configs/1k-attack-dawn.json; report §14",
		Sybils: 4000, PerIP: 16, AttackDegree: 20, Targets: TargetAll,
		HonestConnect: 10 * time.Second, Drop: 1, Run: hardeningRun, Hurts: true,
	},
	{
		// 25 containers × 160 = 4000 Sybils on 25 IPs, attack_degree 20,
		// IPColocationFactorWeight -10, threshold 1.
		Name: "ip-colocation", Title: "IP colocation",
		Source: "hardening: scripts/configs/1k-attack-colocation.json; report §15",
		Sybils: 4000, PerIP: 160, AttackDegree: 20, Targets: TargetAll,
		Drop: 1, Run: hardeningRun, ColocationWeight: -10, Hurts: true,
	},
}

// OppGraftScenarios are the suite's -oppgraft variants (hardening:
// scripts/configs/1k-attack-*-oppgraft.json): opportunistic grafting every
// 10 heartbeats instead of 60, with a threshold of 1 in the cold boot and
// 10 in the covert flash and the attack at dawn; the covert flash's
// variant also has the honest nodes dial at 10 s, as its config does.
var OppGraftScenarios = []Scenario{
	oppGraft("cold-boot", 1, "scripts/configs/1k-attack-cold-boot-oppgraft.json", 0),
	oppGraft("covert-flash", 10, "scripts/configs/1k-attack-cold-boot-covert-flash-oppgraft.json", 10*time.Second),
	oppGraft("attack-at-dawn", 10, "scripts/configs/1k-attack-dawn-oppgraft.json", 0),
}

func oppGraft(base string, threshold float64, config string, honestConnect time.Duration) Scenario {
	for _, sc := range Scenarios {
		if sc.Name == base {
			sc.Name += "-oppgraft"
			sc.Title += ", opportunistic grafting"
			sc.Source = "hardening: " + config
			sc.OppGraftTicks, sc.OppGraftThreshold = 10, threshold
			if honestConnect > 0 {
				sc.HonestConnect = honestConnect
			}
			return sc
		}
	}
	panic("no scenario " + base)
}

// withOppGraft replaces the scenarios that have an -oppgraft variant by
// it.
func withOppGraft(scs []Scenario) []Scenario {
	out := make([]Scenario, len(scs))
	for i, sc := range scs {
		out[i] = sc
		for _, v := range OppGraftScenarios {
			if v.Name == sc.Name+"-oppgraft" {
				out[i] = v
			}
		}
	}
	return out
}

// Lookup returns the scenarios a -scenario flag names: "all", or names
// separated by commas (the -oppgraft variants by their own names too).
func Lookup(names string) ([]Scenario, error) {
	if names == "all" {
		return Scenarios, nil
	}
	var out []Scenario
	for name := range strings.SplitSeq(names, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, sc := range slices.Concat(Scenarios, OppGraftScenarios) {
			if sc.Name == name {
				out = append(out, sc)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown scenario %q; known: all, %s", name, strings.Join(ScenarioNames(), ", "))
		}
	}
	return out, nil
}

// ScenarioNames lists the scenarios' names.
func ScenarioNames() []string {
	names := make([]string, len(Scenarios))
	for i, sc := range Scenarios {
		names[i] = sc.Name
	}
	return names
}

// Attacked reports whether the scenario has Sybils.
func (sc Scenario) Attacked() bool { return sc.Sybils > 0 }
