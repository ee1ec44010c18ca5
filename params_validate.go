package peerscore

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrInvalidParams matches (with errors.Is) every error returned by the
// Validate methods and by New for bad parameters.
var ErrInvalidParams = errors.New("peerscore: invalid parameters")

// ParamError reports one invalid parameter. Retrieve it with errors.As.
type ParamError struct {
	// Topic is the topic whose TopicParams hold the field; empty for global
	// parameters and thresholds.
	Topic string
	// Field is the Go name of the offending field, e.g. "DecayToZero".
	Field string
	// Value is the rejected value.
	Value any
	// Rule says what the field must be.
	Rule string
}

// Error names the topic (if any), the field, its value and the rule.
func (e *ParamError) Error() string {
	if e.Topic != "" {
		return fmt.Sprintf("peerscore: topic %q: %s = %v: %s", e.Topic, e.Field, e.Value, e.Rule)
	}
	return fmt.Sprintf("peerscore: %s = %v: %s", e.Field, e.Value, e.Rule)
}

// Is makes errors.Is(err, ErrInvalidParams) true for every ParamError.
func (e *ParamError) Is(target error) bool { return target == ErrInvalidParams }

// The rules below accept and reject exactly what go-libp2p-pubsub v0.17.0
// does, so that a configuration moves between the two without surprises.
// NaN fails every comparison, which is why the range checks are written as
// "x > lo && x < hi" rather than negated forms.

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func isNonNegative(x float64) bool { return x >= 0 && isFinite(x) }

func isNonPositive(x float64) bool { return x <= 0 && isFinite(x) }

func isPositive(x float64) bool { return x > 0 && isFinite(x) }

func isDecayFactor(x float64) bool { return x > 0 && x < 1 }

const (
	ruleNonNegative = "must be zero or positive and finite"
	ruleNonPositive = "must be zero or negative and finite"
	rulePositive    = "must be positive and finite"
	ruleDecay       = "must be strictly between 0 and 1"
)

func invalid(field string, value any, rule string) *ParamError {
	return &ParamError{Field: field, Value: value, Rule: rule}
}

// Validate reports the first invalid field of p, or nil. It does not change
// p.
func (p *Params) Validate() error {
	if p == nil {
		return invalid("Params", nil, "must not be nil")
	}
	for topic, tp := range p.Topics {
		if err := validateTopic(topic, tp); err != nil {
			return err
		}
	}
	return firstInvalid(
		p.validateTopicScoreCap,
		p.validateAppSpecific,
		p.validateIPColocation,
		p.validateBehaviourPenalty,
		p.validateSlowPeer,
		p.validateSlowPeerWrite,
		p.validateDecay,
	)
}

// firstInvalid runs the checks in order and returns the first one's error,
// or nil (an untyped nil, not a nil *ParamError).
func firstInvalid(checks ...func() *ParamError) error {
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateTopic validates tp and names topic in the error.
func validateTopic(topic string, tp *TopicParams) error {
	err := tp.Validate()
	var pe *ParamError
	if errors.As(err, &pe) {
		withTopic := *pe
		withTopic.Topic = topic
		return &withTopic
	}
	return err
}

func (p *Params) validateTopicScoreCap() *ParamError {
	if p.SkipAtomicValidation && p.TopicScoreCap == 0 {
		return nil
	}
	if !isNonNegative(p.TopicScoreCap) {
		return invalid("TopicScoreCap", p.TopicScoreCap, ruleNonNegative+" (0 for no cap)")
	}
	return nil
}

func (p *Params) validateAppSpecific() *ParamError {
	if p.AppSpecificScore == nil && !p.SkipAtomicValidation {
		return invalid("AppSpecificScore", nil, "must be set (or SkipAtomicValidation, to score 0)")
	}
	return nil
}

func (p *Params) validateIPColocation() *ParamError {
	if p.SkipAtomicValidation && p.IPColocationFactorWeight == 0 {
		return nil
	}
	if !isNonPositive(p.IPColocationFactorWeight) {
		return invalid("IPColocationFactorWeight", p.IPColocationFactorWeight, ruleNonPositive)
	}
	if p.IPColocationFactorWeight != 0 && p.IPColocationFactorThreshold < 1 {
		return invalid("IPColocationFactorThreshold", p.IPColocationFactorThreshold, "must be at least 1")
	}
	return nil
}

func (p *Params) validateBehaviourPenalty() *ParamError {
	if p.SkipAtomicValidation && p.BehaviourPenaltyWeight == 0 && p.BehaviourPenaltyThreshold == 0 {
		return nil
	}
	return validatePenalty("BehaviourPenalty", p.BehaviourPenaltyWeight, p.BehaviourPenaltyDecay, p.BehaviourPenaltyThreshold)
}

// validatePenalty checks a penalty counted above a threshold (P7 and the
// slow-peer penalty), whose fields are named prefix+"Weight", "Decay" and
// "Threshold": a weight of at most 0, a decay factor if the weight is on,
// and a threshold of at least 0.
func validatePenalty(prefix string, weight, decay, threshold float64) *ParamError {
	if !isNonPositive(weight) {
		return invalid(prefix+"Weight", weight, ruleNonPositive)
	}
	if weight != 0 && !isDecayFactor(decay) {
		return invalid(prefix+"Decay", decay, ruleDecay)
	}
	if !isNonNegative(threshold) {
		return invalid(prefix+"Threshold", threshold, ruleNonNegative)
	}
	return nil
}

// validateSlowPeer checks the slow-peer penalty, which pubsub does not have.
// Its zero value is off in both validation modes, so configurations written
// for pubsub keep their verdict.
func (p *Params) validateSlowPeer() *ParamError {
	if p.SlowPeerWeight == 0 && p.SlowPeerThreshold == 0 && p.SlowPeerDecay == 0 {
		return nil
	}
	return validatePenalty("SlowPeer", p.SlowPeerWeight, p.SlowPeerDecay, p.SlowPeerThreshold)
}

// validateSlowPeerWrite is apart from validateSlowPeer because the write
// threshold is checked even when the rest of the slow-peer group is off:
// zero is its "off", and no mode makes a negative duration meaningful.
func (p *Params) validateSlowPeerWrite() *ParamError {
	if p.SlowPeerWriteThreshold < 0 {
		return invalid("SlowPeerWriteThreshold", p.SlowPeerWriteThreshold, "must not be negative (0 turns it off)")
	}
	return nil
}

func (p *Params) validateDecay() *ParamError {
	if p.SkipAtomicValidation && p.DecayInterval == 0 && p.DecayToZero == 0 {
		// Accepted, as pubsub does; New then runs the loop at
		// the default of one second instead of panicking on a zero ticker.
		return nil
	}
	if p.DecayInterval < time.Second {
		return invalid("DecayInterval", p.DecayInterval, "must be at least 1s")
	}
	if !isDecayFactor(p.DecayToZero) {
		return invalid("DecayToZero", p.DecayToZero, ruleDecay)
	}
	return nil
}

// Validate reports the first invalid field of tp, or nil. The error does not
// name a topic; Params.Validate adds it. It does not change tp.
func (tp *TopicParams) Validate() error {
	if tp == nil {
		return invalid("TopicParams", nil, "must not be nil")
	}
	if !isNonNegative(tp.TopicWeight) {
		return invalid("TopicWeight", tp.TopicWeight, ruleNonNegative)
	}
	return firstInvalid(
		tp.validateTimeInMesh,
		tp.validateFirstDeliveries,
		tp.validateMeshDeliveries,
		tp.validateMeshFailure,
		tp.validateInvalidDeliveries,
	)
}

func (tp *TopicParams) validateTimeInMesh() *ParamError {
	if tp.SkipAtomicValidation && tp.TimeInMeshWeight == 0 && tp.TimeInMeshQuantum == 0 && tp.TimeInMeshCap == 0 {
		return nil
	}
	if tp.TimeInMeshQuantum == 0 {
		return invalid("TimeInMeshQuantum", tp.TimeInMeshQuantum, "must not be zero")
	}
	if !isNonNegative(tp.TimeInMeshWeight) {
		return invalid("TimeInMeshWeight", tp.TimeInMeshWeight, ruleNonNegative)
	}
	if tp.TimeInMeshWeight != 0 && tp.TimeInMeshQuantum <= 0 {
		return invalid("TimeInMeshQuantum", tp.TimeInMeshQuantum, "must be positive")
	}
	if tp.TimeInMeshWeight != 0 && !isPositive(tp.TimeInMeshCap) {
		return invalid("TimeInMeshCap", tp.TimeInMeshCap, rulePositive)
	}
	return nil
}

func (tp *TopicParams) validateFirstDeliveries() *ParamError {
	if tp.SkipAtomicValidation && tp.FirstMessageDeliveriesWeight == 0 &&
		tp.FirstMessageDeliveriesDecay == 0 && tp.FirstMessageDeliveriesCap == 0 {
		return nil
	}
	if !isNonNegative(tp.FirstMessageDeliveriesWeight) {
		return invalid("FirstMessageDeliveriesWeight", tp.FirstMessageDeliveriesWeight, ruleNonNegative)
	}
	if tp.FirstMessageDeliveriesWeight == 0 {
		return nil
	}
	if !isDecayFactor(tp.FirstMessageDeliveriesDecay) {
		return invalid("FirstMessageDeliveriesDecay", tp.FirstMessageDeliveriesDecay, ruleDecay)
	}
	if !isPositive(tp.FirstMessageDeliveriesCap) {
		return invalid("FirstMessageDeliveriesCap", tp.FirstMessageDeliveriesCap, rulePositive)
	}
	return nil
}

func (tp *TopicParams) validateMeshDeliveries() *ParamError {
	if tp.SkipAtomicValidation && tp.MeshMessageDeliveriesWeight == 0 &&
		tp.MeshMessageDeliveriesDecay == 0 && tp.MeshMessageDeliveriesCap == 0 &&
		tp.MeshMessageDeliveriesThreshold == 0 && tp.MeshMessageDeliveriesWindow == 0 &&
		tp.MeshMessageDeliveriesActivation == 0 {
		return nil
	}
	if !isNonPositive(tp.MeshMessageDeliveriesWeight) {
		return invalid("MeshMessageDeliveriesWeight", tp.MeshMessageDeliveriesWeight, ruleNonPositive)
	}
	on := tp.MeshMessageDeliveriesWeight != 0
	if on && !isDecayFactor(tp.MeshMessageDeliveriesDecay) {
		return invalid("MeshMessageDeliveriesDecay", tp.MeshMessageDeliveriesDecay, ruleDecay)
	}
	if on && !isPositive(tp.MeshMessageDeliveriesCap) {
		return invalid("MeshMessageDeliveriesCap", tp.MeshMessageDeliveriesCap, rulePositive)
	}
	if on && !isPositive(tp.MeshMessageDeliveriesThreshold) {
		return invalid("MeshMessageDeliveriesThreshold", tp.MeshMessageDeliveriesThreshold, rulePositive)
	}
	if tp.MeshMessageDeliveriesWindow < 0 {
		return invalid("MeshMessageDeliveriesWindow", tp.MeshMessageDeliveriesWindow, "must not be negative")
	}
	if on && tp.MeshMessageDeliveriesActivation < time.Second {
		return invalid("MeshMessageDeliveriesActivation", tp.MeshMessageDeliveriesActivation, "must be at least 1s")
	}
	return nil
}

func (tp *TopicParams) validateMeshFailure() *ParamError {
	if tp.SkipAtomicValidation && tp.MeshFailurePenaltyWeight == 0 && tp.MeshFailurePenaltyDecay == 0 {
		return nil
	}
	if !isNonPositive(tp.MeshFailurePenaltyWeight) {
		return invalid("MeshFailurePenaltyWeight", tp.MeshFailurePenaltyWeight, ruleNonPositive)
	}
	if tp.MeshFailurePenaltyWeight != 0 && !isDecayFactor(tp.MeshFailurePenaltyDecay) {
		return invalid("MeshFailurePenaltyDecay", tp.MeshFailurePenaltyDecay, ruleDecay)
	}
	return nil
}

func (tp *TopicParams) validateInvalidDeliveries() *ParamError {
	if tp.SkipAtomicValidation && tp.InvalidMessageDeliveriesWeight == 0 && tp.InvalidMessageDeliveriesDecay == 0 {
		return nil
	}
	if !isNonPositive(tp.InvalidMessageDeliveriesWeight) {
		return invalid("InvalidMessageDeliveriesWeight", tp.InvalidMessageDeliveriesWeight, ruleNonPositive)
	}
	if !isDecayFactor(tp.InvalidMessageDeliveriesDecay) {
		return invalid("InvalidMessageDeliveriesDecay", tp.InvalidMessageDeliveriesDecay, ruleDecay)
	}
	return nil
}

// Validate reports the first invalid threshold, or nil. It does not change t.
func (t *Thresholds) Validate() error {
	if t == nil {
		return invalid("Thresholds", nil, "must not be nil")
	}
	if !t.SkipAtomicValidation || t.GossipThreshold != 0 || t.PublishThreshold != 0 || t.GraylistThreshold != 0 {
		if !isNonPositive(t.GossipThreshold) {
			return invalid("GossipThreshold", t.GossipThreshold, ruleNonPositive)
		}
		if !isNonPositive(t.PublishThreshold) || t.PublishThreshold > t.GossipThreshold {
			return invalid("PublishThreshold", t.PublishThreshold, ruleNonPositive+" and at most GossipThreshold")
		}
		if !isNonPositive(t.GraylistThreshold) || t.GraylistThreshold > t.PublishThreshold {
			return invalid("GraylistThreshold", t.GraylistThreshold, ruleNonPositive+" and at most PublishThreshold")
		}
	}
	if (!t.SkipAtomicValidation || t.AcceptPXThreshold != 0) && !isNonNegative(t.AcceptPXThreshold) {
		return invalid("AcceptPXThreshold", t.AcceptPXThreshold, ruleNonNegative)
	}
	if (!t.SkipAtomicValidation || t.OpportunisticGraftThreshold != 0) && !isNonNegative(t.OpportunisticGraftThreshold) {
		return invalid("OpportunisticGraftThreshold", t.OpportunisticGraftThreshold, ruleNonNegative)
	}
	return nil
}
