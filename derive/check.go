package derive

import (
	"errors"
	"math"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/paramerr"
)

// errPrefix starts every error of the package.
const errPrefix = "peerscore/derive"

// invalid reports an invalid field of a Topic or Budget. The error unwraps
// to a peerscore.ParamError and so matches peerscore.ErrInvalidParams, like
// every other parameter error.
func invalid(topic, field string, value any, rule string) error {
	return paramerr.New(errPrefix, topic, field, value, rule)
}

// wrap puts an error from peerscore's Validate methods under the package's
// prefix.
func wrap(err error) error {
	return paramerr.Wrap(errPrefix, err)
}

// validateTopic validates derived topic parameters and names topic in the
// error.
func validateTopic(topic string, tp *peerscore.TopicParams) error {
	err := tp.Validate()
	var pe *peerscore.ParamError
	if topic != "" && errors.As(err, &pe) {
		named := *pe
		named.Topic = topic
		err = &named
	}
	return wrap(err)
}

// The checks below accept what peerscore's Validate accepts: NaN fails
// every comparison, so ranges are written as "x > lo" rather than "!(x <=
// lo)".

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func isNonNegative(x float64) bool { return x >= 0 && isFinite(x) }

func isNonPositive(x float64) bool { return x <= 0 && isFinite(x) }

func isPositive(x float64) bool { return x > 0 && isFinite(x) }

func isDecayFactor(x float64) bool { return x > 0 && x < 1 }

// allFinite reports whether every x is a finite number; it catches a
// derivation that overflowed before Validate sees the result.
func allFinite(xs ...float64) bool {
	for _, x := range xs {
		if !isFinite(x) {
			return false
		}
	}
	return true
}

const (
	ruleNonNegative = "must be zero or positive and finite"
	ruleNonPositive = "must be zero or negative and finite"
	rulePositive    = "must be positive and finite"
	ruleDecay       = "must be strictly between 0 and 1"
)
