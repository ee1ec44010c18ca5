package peerscore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"reflect"
	"slices"
	"strings"
	"time"
)

// ParamsDocument is peerscore's one JSON format for a set of parameters:
// what `go run ./examples/params -format json` prints, what scorehttp's
// GET /params serves (as its "data") and what the attack lab's -params
// reads.
//
//	{
//	  "params": {
//	    "topic_score_cap": 70,
//	    "ip_colocation_factor_whitelist": ["10.0.0.0/8"],
//	    "decay_interval": "12s",
//	    …
//	    "topics": {
//	      "blocks": {"topic_weight": 0.5, "time_in_mesh_quantum": "12s", …}
//	    }
//	  },
//	  "thresholds": {"gossip_threshold": -4000, …}
//	}
//
// Each field of Params, TopicParams and Thresholds is there under its Go
// name in snake case (IPColocationFactorWeight is
// ip_colocation_factor_weight, SeenMsgTTL seen_msg_ttl); durations are Go
// duration strings ("1m30s"), the colocation whitelist networks in CIDR
// notation, topics an object keyed by topic name. AppSpecificScore is
// code, not data: it is never written, and reading leaves it nil for the
// application to set.
//
// Marshalling writes every field, and fails on a value JSON cannot carry
// (NaN, ±Inf). Reading takes a field left out as zero (Topics is never nil
// once read, so topics can be added to it). An unknown field (names match
// exactly), a malformed duration or network, a value of the wrong type or
// a null topic is an error that names the field and its topic, and leaves
// the destination unchanged. Reading does not validate: Validate does.
//
// Params, TopicParams and Thresholds marshal and unmarshal to their part
// of the document on their own as well.
type ParamsDocument struct {
	Params     *Params     `json:"params"`
	Thresholds *Thresholds `json:"thresholds"` // null when there are none
}

// UnmarshalJSON reads the document, refusing fields other than "params"
// and "thresholds"; either may be left out or null (then nil). On error
// *d is unchanged; null changes nothing, as for encoding/json.
func (d *ParamsDocument) UnmarshalJSON(b []byte) error {
	return unmarshalWith(d, b, "", documentFromJSON)
}

// MarshalJSON writes p's part of the parameter format (ParamsDocument),
// topics included, without AppSpecificScore. A nil topic is an error, as
// Validate finds it; nil whitelist entries, which the Scorer ignores, are
// left out. The receiver is a value so that json.Marshal(*p) works too.
func (p Params) MarshalJSON() ([]byte, error) {
	w, err := p.toJSON()
	if err != nil {
		return nil, fmt.Errorf("peerscore: params: %w", err)
	}
	return json.Marshal(w)
}

// UnmarshalJSON replaces *p with the parameters of the format
// (ParamsDocument) in b. AppSpecificScore is left nil: set it before New.
// On error *p is unchanged; null changes nothing, as for encoding/json.
func (p *Params) UnmarshalJSON(b []byte) error {
	return unmarshalWith(p, b, "params: ", paramsFromJSON)
}

// MarshalJSON writes tp's part of the parameter format (ParamsDocument).
func (tp TopicParams) MarshalJSON() ([]byte, error) {
	b, err := tp.marshal()
	if err != nil {
		return nil, fmt.Errorf("peerscore: topic params: %w", err)
	}
	return b, nil
}

// UnmarshalJSON replaces *tp with the topic parameters of the format
// (ParamsDocument) in b. On error *tp is unchanged; null changes nothing.
func (tp *TopicParams) UnmarshalJSON(b []byte) error {
	return unmarshalWith(tp, b, "topic params: ", topicFromJSON)
}

// MarshalJSON writes t's part of the parameter format (ParamsDocument).
func (t Thresholds) MarshalJSON() ([]byte, error) {
	w := thresholdsJSON(t)
	if err := checkFinite(w); err != nil {
		return nil, fmt.Errorf("peerscore: thresholds: %w", err)
	}
	return json.Marshal(w)
}

// UnmarshalJSON replaces *t with the thresholds of the format
// (ParamsDocument) in b. On error *t is unchanged; null changes nothing.
func (t *Thresholds) UnmarshalJSON(b []byte) error {
	return unmarshalWith(t, b, "thresholds: ", thresholdsFromJSON)
}

// unmarshalWith is the UnmarshalJSON of the format's parts: it replaces
// *dst with what parse reads from b, and leaves *dst unchanged on error and
// on null, as encoding/json does. Errors start with "peerscore: " and
// part.
func unmarshalWith[T any](dst *T, b []byte, part string, parse func([]byte) (*T, error)) error {
	if isNull(b) {
		return nil
	}
	v, err := parse(b)
	if err != nil {
		return fmt.Errorf("peerscore: %s%w", part, err)
	}
	*dst = *v
	return nil
}

// paramsJSON is Params on the wire. Topics come last, so that a reader
// sees the global parameters before a long list of topics.
type paramsJSON struct {
	SkipAtomicValidation        bool                       `json:"skip_atomic_validation"`
	TopicScoreCap               float64                    `json:"topic_score_cap"`
	AppSpecificWeight           float64                    `json:"app_specific_weight"`
	IPColocationFactorWeight    float64                    `json:"ip_colocation_factor_weight"`
	IPColocationFactorThreshold int                        `json:"ip_colocation_factor_threshold"`
	IPColocationFactorWhitelist []cidrText                 `json:"ip_colocation_factor_whitelist"`
	BehaviourPenaltyWeight      float64                    `json:"behaviour_penalty_weight"`
	BehaviourPenaltyThreshold   float64                    `json:"behaviour_penalty_threshold"`
	BehaviourPenaltyDecay       float64                    `json:"behaviour_penalty_decay"`
	DecayInterval               *durationText              `json:"decay_interval"`
	DecayToZero                 float64                    `json:"decay_to_zero"`
	RetainScore                 *durationText              `json:"retain_score"`
	SlowPeerWeight              float64                    `json:"slow_peer_weight"`
	SlowPeerThreshold           float64                    `json:"slow_peer_threshold"`
	SlowPeerDecay               float64                    `json:"slow_peer_decay"`
	SlowPeerWriteThreshold      *durationText              `json:"slow_peer_write_threshold"`
	SeenMsgTTL                  *durationText              `json:"seen_msg_ttl"`
	Topics                      map[string]json.RawMessage `json:"topics"`
}

// topicParamsJSON is TopicParams on the wire.
type topicParamsJSON struct {
	SkipAtomicValidation            bool          `json:"skip_atomic_validation"`
	TopicWeight                     float64       `json:"topic_weight"`
	TimeInMeshWeight                float64       `json:"time_in_mesh_weight"`
	TimeInMeshQuantum               *durationText `json:"time_in_mesh_quantum"`
	TimeInMeshCap                   float64       `json:"time_in_mesh_cap"`
	FirstMessageDeliveriesWeight    float64       `json:"first_message_deliveries_weight"`
	FirstMessageDeliveriesDecay     float64       `json:"first_message_deliveries_decay"`
	FirstMessageDeliveriesCap       float64       `json:"first_message_deliveries_cap"`
	MeshMessageDeliveriesWeight     float64       `json:"mesh_message_deliveries_weight"`
	MeshMessageDeliveriesDecay      float64       `json:"mesh_message_deliveries_decay"`
	MeshMessageDeliveriesCap        float64       `json:"mesh_message_deliveries_cap"`
	MeshMessageDeliveriesThreshold  float64       `json:"mesh_message_deliveries_threshold"`
	MeshMessageDeliveriesWindow     *durationText `json:"mesh_message_deliveries_window"`
	MeshMessageDeliveriesActivation *durationText `json:"mesh_message_deliveries_activation"`
	MeshFailurePenaltyWeight        float64       `json:"mesh_failure_penalty_weight"`
	MeshFailurePenaltyDecay         float64       `json:"mesh_failure_penalty_decay"`
	InvalidMessageDeliveriesWeight  float64       `json:"invalid_message_deliveries_weight"`
	InvalidMessageDeliveriesDecay   float64       `json:"invalid_message_deliveries_decay"`
}

// thresholdsJSON is Thresholds on the wire. It converts to and from
// Thresholds directly, so a field added to one and not the other does not
// compile.
type thresholdsJSON struct {
	SkipAtomicValidation        bool    `json:"skip_atomic_validation"`
	GossipThreshold             float64 `json:"gossip_threshold"`
	PublishThreshold            float64 `json:"publish_threshold"`
	GraylistThreshold           float64 `json:"graylist_threshold"`
	AcceptPXThreshold           float64 `json:"accept_px_threshold"`
	OpportunisticGraftThreshold float64 `json:"opportunistic_graft_threshold"`
}

// durationText is a duration on the wire, "1m30s". Fields hold a pointer
// so that a field left out (nil, zero) is told apart from an empty string
// (an error).
type durationText string

// cidrText is a network on the wire, "10.0.0.0/8".
type cidrText string

func textOf(d time.Duration) *durationText {
	s := durationText(d.String())
	return &s
}

// duration parses d, naming field in the error; nil is zero.
func (d *durationText) duration(field string) (time.Duration, error) {
	if d == nil {
		return 0, nil
	}
	v, err := time.ParseDuration(string(*d))
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a duration such as \"1m30s\"", field, string(*d))
	}
	return v, nil
}

func (p *Params) toJSON() (*paramsJSON, error) {
	w := &paramsJSON{
		SkipAtomicValidation:        p.SkipAtomicValidation,
		TopicScoreCap:               p.TopicScoreCap,
		AppSpecificWeight:           p.AppSpecificWeight,
		IPColocationFactorWeight:    p.IPColocationFactorWeight,
		IPColocationFactorThreshold: p.IPColocationFactorThreshold,
		BehaviourPenaltyWeight:      p.BehaviourPenaltyWeight,
		BehaviourPenaltyThreshold:   p.BehaviourPenaltyThreshold,
		BehaviourPenaltyDecay:       p.BehaviourPenaltyDecay,
		DecayInterval:               textOf(p.DecayInterval),
		DecayToZero:                 p.DecayToZero,
		RetainScore:                 textOf(p.RetainScore),
		SlowPeerWeight:              p.SlowPeerWeight,
		SlowPeerThreshold:           p.SlowPeerThreshold,
		SlowPeerDecay:               p.SlowPeerDecay,
		SlowPeerWriteThreshold:      textOf(p.SlowPeerWriteThreshold),
		SeenMsgTTL:                  textOf(p.SeenMsgTTL),
	}
	if err := checkFinite(*w); err != nil {
		return nil, err
	}
	var err error
	if w.IPColocationFactorWhitelist, err = whitelistToJSON(p.IPColocationFactorWhitelist); err != nil {
		return nil, err
	}
	if w.Topics, err = topicsToJSON(p.Topics); err != nil {
		return nil, err
	}
	return w, nil
}

// whitelistToJSON writes each network masked, as ParseCIDR reads it back.
func whitelistToJSON(nets []*net.IPNet) ([]cidrText, error) {
	out := make([]cidrText, 0, len(nets)) // [] rather than null: the format always has the field
	for i, n := range nets {
		if n == nil {
			continue
		}
		ip := n.IP.Mask(n.Mask)
		if _, bits := n.Mask.Size(); ip == nil || bits == 0 {
			return nil, fmt.Errorf("ip_colocation_factor_whitelist[%d]: %v has no CIDR form (mask %v)", i, n.IP, n.Mask)
		}
		out = append(out, cidrText((&net.IPNet{IP: ip, Mask: n.Mask}).String()))
	}
	return out, nil
}

func topicsToJSON(topics map[string]*TopicParams) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(topics))
	for _, name := range slices.Sorted(maps.Keys(topics)) { // the first error, every time
		tp := topics[name]
		if tp == nil {
			return nil, fmt.Errorf("topic %q: nil TopicParams", name)
		}
		b, err := tp.marshal()
		if err != nil {
			return nil, fmt.Errorf("topic %q: %w", name, err)
		}
		out[name] = b
	}
	return out, nil
}

func (tp *TopicParams) marshal() ([]byte, error) {
	w := topicParamsJSON{
		SkipAtomicValidation:            tp.SkipAtomicValidation,
		TopicWeight:                     tp.TopicWeight,
		TimeInMeshWeight:                tp.TimeInMeshWeight,
		TimeInMeshQuantum:               textOf(tp.TimeInMeshQuantum),
		TimeInMeshCap:                   tp.TimeInMeshCap,
		FirstMessageDeliveriesWeight:    tp.FirstMessageDeliveriesWeight,
		FirstMessageDeliveriesDecay:     tp.FirstMessageDeliveriesDecay,
		FirstMessageDeliveriesCap:       tp.FirstMessageDeliveriesCap,
		MeshMessageDeliveriesWeight:     tp.MeshMessageDeliveriesWeight,
		MeshMessageDeliveriesDecay:      tp.MeshMessageDeliveriesDecay,
		MeshMessageDeliveriesCap:        tp.MeshMessageDeliveriesCap,
		MeshMessageDeliveriesThreshold:  tp.MeshMessageDeliveriesThreshold,
		MeshMessageDeliveriesWindow:     textOf(tp.MeshMessageDeliveriesWindow),
		MeshMessageDeliveriesActivation: textOf(tp.MeshMessageDeliveriesActivation),
		MeshFailurePenaltyWeight:        tp.MeshFailurePenaltyWeight,
		MeshFailurePenaltyDecay:         tp.MeshFailurePenaltyDecay,
		InvalidMessageDeliveriesWeight:  tp.InvalidMessageDeliveriesWeight,
		InvalidMessageDeliveriesDecay:   tp.InvalidMessageDeliveriesDecay,
	}
	if err := checkFinite(w); err != nil {
		return nil, err
	}
	return json.Marshal(w)
}

// documentFromJSON reads the two parts itself rather than through their
// UnmarshalJSON methods, so that an error is prefixed once.
func documentFromJSON(b []byte) (*ParamsDocument, error) {
	var w struct {
		Params     json.RawMessage `json:"params"`
		Thresholds json.RawMessage `json:"thresholds"`
	}
	if err := decodeStrict(b, &w); err != nil {
		return nil, fmt.Errorf("parameter document: %w", err)
	}
	var d ParamsDocument
	var err error
	if w.Params != nil && !isNull(w.Params) {
		if d.Params, err = paramsFromJSON(w.Params); err != nil {
			return nil, fmt.Errorf("params: %w", err)
		}
	}
	if w.Thresholds != nil && !isNull(w.Thresholds) {
		if d.Thresholds, err = thresholdsFromJSON(w.Thresholds); err != nil {
			return nil, fmt.Errorf("thresholds: %w", err)
		}
	}
	return &d, nil
}

func thresholdsFromJSON(b []byte) (*Thresholds, error) {
	var w thresholdsJSON
	if err := decodeStrict(b, &w); err != nil {
		return nil, err
	}
	t := Thresholds(w)
	return &t, nil
}

func paramsFromJSON(b []byte) (*Params, error) {
	var w paramsJSON
	if err := decodeStrict(b, &w); err != nil {
		return nil, err
	}
	p := &Params{
		SkipAtomicValidation:        w.SkipAtomicValidation,
		TopicScoreCap:               w.TopicScoreCap,
		AppSpecificWeight:           w.AppSpecificWeight,
		IPColocationFactorWeight:    w.IPColocationFactorWeight,
		IPColocationFactorThreshold: w.IPColocationFactorThreshold,
		BehaviourPenaltyWeight:      w.BehaviourPenaltyWeight,
		BehaviourPenaltyThreshold:   w.BehaviourPenaltyThreshold,
		BehaviourPenaltyDecay:       w.BehaviourPenaltyDecay,
		DecayToZero:                 w.DecayToZero,
		SlowPeerWeight:              w.SlowPeerWeight,
		SlowPeerThreshold:           w.SlowPeerThreshold,
		SlowPeerDecay:               w.SlowPeerDecay,
	}
	err := readDurations([]durationField{
		{&p.DecayInterval, w.DecayInterval, "decay_interval"},
		{&p.RetainScore, w.RetainScore, "retain_score"},
		{&p.SlowPeerWriteThreshold, w.SlowPeerWriteThreshold, "slow_peer_write_threshold"},
		{&p.SeenMsgTTL, w.SeenMsgTTL, "seen_msg_ttl"},
	})
	if err != nil {
		return nil, err
	}
	if p.IPColocationFactorWhitelist, err = whitelistFromJSON(w.IPColocationFactorWhitelist); err != nil {
		return nil, err
	}
	if p.Topics, err = topicsFromJSON(w.Topics); err != nil {
		return nil, err
	}
	return p, nil
}

// whitelistFromJSON parses the networks; an empty list is nil, the zero
// value.
func whitelistFromJSON(texts []cidrText) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for i, s := range texts {
		_, n, err := net.ParseCIDR(string(s))
		if err != nil {
			return nil, fmt.Errorf("ip_colocation_factor_whitelist[%d]: %q is not a network in CIDR notation such as \"10.0.0.0/8\"", i, string(s))
		}
		out = append(out, n)
	}
	return out, nil
}

// topicsFromJSON reads each topic. The map it returns is never nil, even
// for "topics" null or left out, so that the caller can add topics to it;
// a topic that is null is an error (Validate would refuse a nil
// TopicParams).
func topicsFromJSON(raw map[string]json.RawMessage) (map[string]*TopicParams, error) {
	out := make(map[string]*TopicParams, len(raw))
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		if isNull(raw[name]) {
			return nil, fmt.Errorf("topic %q: null, want an object of topic parameters", name)
		}
		tp, err := topicFromJSON(raw[name])
		if err != nil {
			return nil, fmt.Errorf("topic %q: %w", name, err)
		}
		out[name] = tp
	}
	return out, nil
}

func topicFromJSON(b []byte) (*TopicParams, error) {
	var w topicParamsJSON
	if err := decodeStrict(b, &w); err != nil {
		return nil, err
	}
	tp := &TopicParams{
		SkipAtomicValidation:           w.SkipAtomicValidation,
		TopicWeight:                    w.TopicWeight,
		TimeInMeshWeight:               w.TimeInMeshWeight,
		TimeInMeshCap:                  w.TimeInMeshCap,
		FirstMessageDeliveriesWeight:   w.FirstMessageDeliveriesWeight,
		FirstMessageDeliveriesDecay:    w.FirstMessageDeliveriesDecay,
		FirstMessageDeliveriesCap:      w.FirstMessageDeliveriesCap,
		MeshMessageDeliveriesWeight:    w.MeshMessageDeliveriesWeight,
		MeshMessageDeliveriesDecay:     w.MeshMessageDeliveriesDecay,
		MeshMessageDeliveriesCap:       w.MeshMessageDeliveriesCap,
		MeshMessageDeliveriesThreshold: w.MeshMessageDeliveriesThreshold,
		MeshFailurePenaltyWeight:       w.MeshFailurePenaltyWeight,
		MeshFailurePenaltyDecay:        w.MeshFailurePenaltyDecay,
		InvalidMessageDeliveriesWeight: w.InvalidMessageDeliveriesWeight,
		InvalidMessageDeliveriesDecay:  w.InvalidMessageDeliveriesDecay,
	}
	err := readDurations([]durationField{
		{&tp.TimeInMeshQuantum, w.TimeInMeshQuantum, "time_in_mesh_quantum"},
		{&tp.MeshMessageDeliveriesWindow, w.MeshMessageDeliveriesWindow, "mesh_message_deliveries_window"},
		{&tp.MeshMessageDeliveriesActivation, w.MeshMessageDeliveriesActivation, "mesh_message_deliveries_activation"},
	})
	if err != nil {
		return nil, err
	}
	return tp, nil
}

// durationField is a duration read from the wire: from, named name, parsed
// into to.
type durationField struct {
	to   *time.Duration
	from *durationText
	name string
}

// readDurations parses each field in order and stops at the first error.
func readDurations(fields []durationField) error {
	for _, d := range fields {
		v, err := d.from.duration(d.name)
		if err != nil {
			return err
		}
		*d.to = v
	}
	return nil
}

// decodeStrict decodes the JSON object b into the struct wire points to.
// encoding/json would skip unknown keys and match names regardless of
// case; here a key must be exactly one of the struct's field names, so a
// misspelt field is an error rather than a parameter silently left at
// zero.
func decodeStrict(b []byte, wire any) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return explain(err, wire)
	}
	known := jsonNames(reflect.TypeOf(wire).Elem())
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if !slices.Contains(known, k) {
			return fmt.Errorf("unknown field %q", k)
		}
	}
	if err := json.Unmarshal(b, wire); err != nil {
		return explain(err, wire)
	}
	return nil
}

// explain rewrites encoding/json's type errors, which name Go types (some
// of them ours), in the format's terms: the field, what it takes and what
// it got.
func explain(err error, wire any) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err
	}
	if te.Field == "" {
		return fmt.Errorf("want %s, got %s", describe(reflect.TypeOf(wire).Elem()), te.Value)
	}
	if te.Type != nil && te.Type.Kind() == reflect.Float64 && strings.HasPrefix(te.Value, "number") {
		return fmt.Errorf("%s: %s is beyond float64's range", te.Field, te.Value)
	}
	return fmt.Errorf("%s: want %s, got %s", te.Field, describe(te.Type), te.Value)
}

// describe says in words what JSON value a wire type takes.
func describe(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[durationText]():
		return `a duration string such as "1m30s"`
	case reflect.TypeFor[cidrText]():
		return `a network in CIDR notation such as "10.0.0.0/8"`
	case reflect.TypeFor[[]cidrText]():
		return `an array of networks in CIDR notation such as ["10.0.0.0/8"]`
	}
	switch t.Kind() {
	case reflect.Float64:
		return "a number"
	case reflect.Int:
		return "an integer"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// jsonNames lists the JSON names of struct type t's fields, in order.
func jsonNames(t reflect.Type) []string {
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	return names
}

// checkFinite refuses a wire struct with a float field JSON cannot carry,
// naming the field (encoding/json's own error does not).
func checkFinite(wire any) error {
	v := reflect.ValueOf(wire)
	names := jsonNames(v.Type())
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Float64 && (math.IsNaN(f.Float()) || math.IsInf(f.Float(), 0)) {
			return fmt.Errorf("%s: %v has no JSON form", names[i], f.Float())
		}
	}
	return nil
}

func isNull(b []byte) bool { return string(bytes.TrimSpace(b)) == "null" }
