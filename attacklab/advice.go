package attacklab

import (
	"fmt"
	"slices"
	"strings"

	"github.com/peerscore/peerscore"
)

// When a scoring arm's verdict fails, which parameter to change and in
// which direction. The advice reads what failed (honest peers penalised,
// attackers kept in the meshes, latency), what kind of attack it was and
// which component the snapshots found at work; it names the parameter
// and its current value. It is a first move, not a proof: run the lab
// again with the change.

// advise fills in v.Advice for a failed scoring-arm verdict of cell c.
func advise(v *Verdict, c *cell, cfg SuiteConfig) {
	if !c.arm.scores() || v.Holds || !v.Judged {
		return
	}
	tp := cfg.Topic
	if tp == nil {
		tp = &peerscore.TopicParams{}
	}
	sc := c.runs[0].Plan.Scenario
	failed := func(words ...string) bool {
		return slices.ContainsFunc(v.Reasons, func(r string) bool {
			for _, w := range words {
				if strings.Contains(r, w) {
					return true
				}
			}
			return false
		})
	}
	add := func(format string, args ...any) {
		if a := fmt.Sprintf(format, args...); !slices.Contains(v.Advice, a) {
			v.Advice = append(v.Advice, a)
		}
	}
	if failed("native") {
		add("peerscore scores as native does (see the live parity): a distribution worse than native's is the runs' noise or a bug; run more seeds (-seeds), and report it if it stays")
	}
	honestHurt := failed("honest links")
	if honestHurt || (!sc.Attacked() && failed("p99", "delivery", "deadline")) {
		switch dominant(c, true) {
		case peerscore.ComponentMeshFailure:
			add("honest peers carry P3b from prunes: make MeshFailurePenaltyWeight (now %.3g) smaller in magnitude, or its decay MeshFailurePenaltyDecay (now %.3g) faster", tp.MeshFailurePenaltyWeight, tp.MeshFailurePenaltyDecay)
		case peerscore.ComponentIPColocation:
			add("honest peers share addresses: raise IPColocationFactorThreshold, or whitelist their networks")
		default:
			add("honest mesh peers seldom first to deliver fall short of P3: lower MeshMessageDeliveriesThreshold (now %.3g), or widen MeshMessageDeliveriesWindow (now %v) so that near-first copies count",
				tp.MeshMessageDeliveriesThreshold, tp.MeshMessageDeliveriesWindow)
		}
		if failed("gossip threshold") && cfg.Thresholds != nil {
			add("honest scores reach the gossip threshold (now %.3g): move it further below zero", cfg.Thresholds.GossipThreshold)
		}
	}
	if !sc.Attacked() || !failed("attackers kept", "p99", "delivery", "deadline") {
		return
	}
	switch {
	case sc.ColocationWeight != 0 || sc.PerIP >= 100:
		add("the Sybils share addresses: make IPColocationFactorWeight larger in magnitude, or IPColocationFactorThreshold lower")
	case sc.AttackDelay > 0:
		add("the Sybils' first-delivery credit from before they turned (P2) outweighs P3: lower FirstMessageDeliveriesCap (now %.3g) or FirstMessageDeliveriesWeight (now %.3g), or make MeshMessageDeliveriesWeight (now %.3g) larger in magnitude",
			tp.FirstMessageDeliveriesCap, tp.FirstMessageDeliveriesWeight, tp.MeshMessageDeliveriesWeight)
	case sc.Censor:
		add("the Sybils forward every message but the victim's, so P2 and P3 credit them as honest peers: the score function counts deliveries per topic, not per origin, and no scoring parameter tells them apart. The victim's messages get past them by flood publishing and gossip; more gossip (the router's Dlazy and GossipFactor, which the lab keeps at pubsub's defaults) shortens the delay")
	case sc.SybilConnect == 0 || sc.HonestConnect > 0:
		add("the Sybils sit in the meshes from the start and P3 waits MeshMessageDeliveriesActivation (now %v) before it counts: shorten it", tp.MeshMessageDeliveriesActivation)
	default:
		add("silent mesh peers do not fall below zero fast enough: make MeshMessageDeliveriesWeight (now %.3g) larger in magnitude or MeshMessageDeliveriesThreshold (now %.3g) higher, or MeshMessageDeliveriesActivation (now %v) shorter",
			tp.MeshMessageDeliveriesWeight, tp.MeshMessageDeliveriesThreshold, tp.MeshMessageDeliveriesActivation)
	}
}

// dominant is the component most often at work in c's negative honest
// (honest true) or attacker scores, "" when the snapshots found none.
func dominant(c *cell, honest bool) peerscore.Component {
	count := map[peerscore.Component]int{}
	for _, r := range c.runs {
		bs := r.Blame
		if honest {
			bs = r.HonestBlame
		}
		for _, b := range bs {
			count[b.Component] += b.Links
		}
	}
	var best peerscore.Component
	for comp, n := range count {
		if best == "" || n > count[best] || (n == count[best] && comp < best) {
			best = comp
		}
	}
	return best
}
