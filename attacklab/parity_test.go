package attacklab

import (
	"testing"
)

// TestLiveParity runs every scenario's native arm at small scale, with
// the evaluation's parameters and with the Ethereum preset, a passive
// peerscore Scorer beside each router's own scorer, and fails on any
// divergence the README's differences do not explain, or on a run that
// compared too little to say anything.
func TestLiveParity(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped with -short")
	}
	eth, err := EthereumScoring(1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	hardening := smallConfig()
	for _, scoring := range []Scoring{hardening.Params, eth} {
		cfg := hardening
		cfg.Params = scoring
		t.Run(map[bool]string{true: "hardening", false: "ethereum"}[scoring.hardening], func(t *testing.T) {
			var nonzero [numParts]int64
			for _, sc := range Scenarios {
				res := runArm(t, cfg, sc, ArmNative)
				p := res.Parity
				if p == nil || p.Inspections == 0 || p.Peers == 0 {
					t.Fatalf("%s: nothing compared: %+v", sc.Name, p)
				}
				t.Logf("%s: %d inspections, %d peer scores compared", sc.Name, p.Inspections, p.Peers)
				for i, g := range p.Components {
					nonzero[i] += g.NonZero
					if g.Diverged > 0 {
						t.Logf("  %s: %d diverged, at most %.6g", g.Name, g.Diverged, g.Max)
					}
				}
				for _, g := range p.Causes {
					if g.Diverged > 0 {
						t.Logf("  cause %s: %d, at most %.6g", g.Name, g.Diverged, g.Max)
					}
				}
				if p.Unexplained > 0 {
					t.Errorf("%s: %d unexplained divergences; first: %s", sc.Name, p.Unexplained, p.Example)
				}
			}
			// The evaluation's attacks send no invalid message and break
			// no router rule, so P4 and P7 stay zero; P5 is a constant.
			for _, part := range []int{partScore, partP1, partP2, partP3, partP6} {
				if nonzero[part] == 0 {
					t.Errorf("%s was zero in every comparison: the runs did not test it", partNames[part])
				}
			}
		})
	}
}
