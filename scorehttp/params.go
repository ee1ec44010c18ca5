package scorehttp

import "github.com/peerscore/peerscore"

// newParamsView is GET /params' data: the Scorer's parameters and
// thresholds as peerscore.ParamsDocument marshals them, so that what a
// node serves is what examples/params prints and the attack lab's -params
// reads. Thresholds are nil (null) without peerscore.WithThresholds.
func newParamsView(p *peerscore.Params, t *peerscore.Thresholds) peerscore.ParamsDocument {
	return peerscore.ParamsDocument{Params: p, Thresholds: t}
}
