package peerscore_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// filledDocument is scoretest.FilledParams as a document: every field
// set, by reflection, to a distinct nonzero value.
func filledDocument(t *testing.T) peerscore.ParamsDocument {
	p, th := scoretest.FilledParams(t)
	return peerscore.ParamsDocument{Params: p, Thresholds: th}
}

// TestParamsJSONRoundTripsEveryField: every field of Params, TopicParams
// and Thresholds survives the format, but AppSpecificScore, which is left
// out and comes back nil. It fails when a field is added to one of those
// types and not to params_json.go.
func TestParamsJSONRoundTripsEveryField(t *testing.T) {
	doc := filledDocument(t)
	raw, err := json.Marshal(doc)
	require.NoError(t, err)

	var got peerscore.ParamsDocument
	require.NoError(t, json.Unmarshal(raw, &got))
	require.Nil(t, got.Params.AppSpecificScore, "the application sets it")
	want := *doc.Params
	want.AppSpecificScore = nil
	require.Equal(t, &want, got.Params)
	require.Equal(t, doc.Thresholds, got.Thresholds)

	// Each type on its own, and through a value as well as a pointer.
	for name, v := range map[string]any{
		"Params": doc.Params, "TopicParams": doc.Params.Topics["blocks"], "Thresholds": doc.Thresholds,
	} {
		byPtr, err := json.Marshal(v)
		require.NoError(t, err, name)
		byValue, err := json.Marshal(reflect.ValueOf(v).Elem().Interface())
		require.NoError(t, err, name)
		require.JSONEq(t, string(byPtr), string(byValue), name)

		back := reflect.New(reflect.TypeOf(v).Elem())
		require.NoError(t, json.Unmarshal(byPtr, back.Interface()), name)
		if p, ok := back.Interface().(*peerscore.Params); ok {
			require.Equal(t, &want, p)
			continue
		}
		require.Equal(t, v, back.Interface(), name)
	}
}

// TestParamsJSONFieldNames: each field is written under its Go name in
// snake case, as ParamsDocument documents, durations as duration strings,
// networks in CIDR notation, and nothing else is written.
func TestParamsJSONFieldNames(t *testing.T) {
	doc := filledDocument(t)
	raw, err := json.Marshal(doc)
	require.NoError(t, err)
	var got struct {
		Params     map[string]any `json:"params"`
		Thresholds map[string]any `json:"thresholds"`
	}
	require.NoError(t, json.Unmarshal(raw, &got))
	requireSnakeFields(t, "params", reflect.ValueOf(*doc.Params), got.Params)
	requireSnakeFields(t, "thresholds", reflect.ValueOf(*doc.Thresholds), got.Thresholds)
}

func requireSnakeFields(t *testing.T, what string, v reflect.Value, obj map[string]any) {
	t.Helper()
	want := map[string]any{}
	for i := range v.NumField() {
		name, f := snakeCase(v.Type().Field(i).Name), v.Field(i)
		switch x := f.Interface().(type) {
		case time.Duration:
			want[name] = x.String()
		case int:
			want[name] = float64(x)
		case []*net.IPNet:
			want[name] = []any{x[0].String(), x[1].String()}
		case map[string]*peerscore.TopicParams:
			topics, ok := obj[name].(map[string]any)
			require.Truef(t, ok, "%s.%s: %v", what, name, obj[name])
			require.Len(t, topics, len(x))
			for topic, tp := range x {
				requireSnakeFields(t, what+".topics."+topic, reflect.ValueOf(*tp), topics[topic].(map[string]any))
			}
			want[name] = topics
		case func(peer.ID) float64:
			// AppSpecificScore: code, not data
		default:
			want[name] = x
		}
	}
	require.Equalf(t, want, obj, "%s: every field under its snake-case name", what)
}

// snakeCase turns a Go field name into snake case, acronyms kept whole:
// IPColocationFactorWeight is ip_colocation_factor_weight, SeenMsgTTL
// seen_msg_ttl.
func snakeCase(name string) string {
	r := []rune(name)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 &&
			(unicode.IsLower(r[i-1]) || (i+1 < len(r) && unicode.IsLower(r[i+1]))) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// TestParamsJSONReads: what a hand-written document may leave out or set
// to null, and what it becomes.
func TestParamsJSONReads(t *testing.T) {
	var doc peerscore.ParamsDocument
	require.NoError(t, json.Unmarshal([]byte(`{"params": {
		"decay_interval": "1m30s", "decay_to_zero": 0.01, "ip_colocation_factor_whitelist": ["192.168.7.9/16"],
		"topics": {"blocks": {"topic_weight": 0.5, "time_in_mesh_quantum": "12s"}}}}`), &doc))
	require.Nil(t, doc.Thresholds, "left out")
	require.Equal(t, &peerscore.Params{
		DecayInterval:               90 * time.Second,
		DecayToZero:                 0.01,
		IPColocationFactorWhitelist: []*net.IPNet{scoretest.CIDR("192.168.0.0/16")},
		Topics:                      map[string]*peerscore.TopicParams{"blocks": {TopicWeight: 0.5, TimeInMeshQuantum: 12 * time.Second}},
	}, doc.Params, "fields left out are zero")

	var p peerscore.Params
	require.NoError(t, json.Unmarshal([]byte(`{"topics": null, "ip_colocation_factor_whitelist": null, "retain_score": null}`), &p))
	require.Equal(t, peerscore.Params{Topics: map[string]*peerscore.TopicParams{}}, p, "null is zero; Topics is never nil")
	p.Topics["late"] = &peerscore.TopicParams{} // and can be added to

	require.NoError(t, json.Unmarshal([]byte(`{"params": null, "thresholds": null}`), &doc))
	require.Equal(t, peerscore.ParamsDocument{}, doc)

	app := &peerscore.Params{AppSpecificScore: func(peer.ID) float64 { return 1 }, AppSpecificWeight: 2}
	require.NoError(t, json.Unmarshal([]byte(`{"app_specific_weight": 3}`), app))
	require.Nil(t, app.AppSpecificScore, "replaced, function and all: the application sets it again")
	require.Equal(t, 3.0, app.AppSpecificWeight)

	kept := &peerscore.Thresholds{GossipThreshold: -1}
	require.NoError(t, kept.UnmarshalJSON([]byte("null")))
	require.Equal(t, -1.0, kept.GossipThreshold, "null changes nothing, as for encoding/json")
}

// TestParamsJSONBadInput: each malformed document is refused with an
// error that names the field (and topic), and the destination is left as
// it was.
func TestParamsJSONBadInput(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"not JSON", `{"params": `, "unexpected end of JSON input"},
		{"not an object", `[1]`, "parameter document: want an object, got array"},
		{"unknown top-level field", `{"summary": []}`, `parameter document: unknown field "summary"`},
		{"unknown field", `{"params": {"decay_intervall": "1s"}}`, `params: unknown field "decay_intervall"`},
		{"field in Go case", `{"params": {"DecayInterval": "1s"}}`, `params: unknown field "DecayInterval"`},
		{"field in other case", `{"thresholds": {"Gossip_Threshold": -1}}`, `thresholds: unknown field "Gossip_Threshold"`},
		{"unknown topic field", `{"params": {"topics": {"blocks": {"topic_wieght": 1}}}}`, `params: topic "blocks": unknown field "topic_wieght"`},
		{"function", `{"params": {"app_specific_score": 0}}`, `params: unknown field "app_specific_score"`},
		{"duration as a number", `{"params": {"decay_interval": 12}}`, `params: decay_interval: want a duration string such as "1m30s", got number`},
		{"duration without unit", `{"params": {"retain_score": "12"}}`, `params: retain_score: "12" is not a duration`},
		{"empty duration", `{"params": {"seen_msg_ttl": ""}}`, `params: seen_msg_ttl: "" is not a duration`},
		{"duration overflow", `{"params": {"slow_peer_write_threshold": "3000000h"}}`, `params: slow_peer_write_threshold: "3000000h" is not a duration`},
		{"topic duration", `{"params": {"topics": {"blocks": {"time_in_mesh_quantum": "1 s"}}}}`, `params: topic "blocks": time_in_mesh_quantum: "1 s" is not a duration`},
		{"bare address", `{"params": {"ip_colocation_factor_whitelist": ["10.0.0.0/8", "10.1.2.3"]}}`, `params: ip_colocation_factor_whitelist[1]: "10.1.2.3" is not a network in CIDR notation`},
		{"bad prefix", `{"params": {"ip_colocation_factor_whitelist": ["10.0.0.0/33"]}}`, `ip_colocation_factor_whitelist[0]: "10.0.0.0/33" is not a network`},
		{"network as a number", `{"params": {"ip_colocation_factor_whitelist": [10]}}`, `params: ip_colocation_factor_whitelist: want a network in CIDR notation`},
		{"whitelist as a string", `{"params": {"ip_colocation_factor_whitelist": "10.0.0.0/8"}}`, `params: ip_colocation_factor_whitelist: want an array of networks`},
		{"number as a string", `{"params": {"topic_score_cap": "10"}}`, "params: topic_score_cap: want a number, got string"},
		{"number as a bool", `{"thresholds": {"gossip_threshold": true}}`, "thresholds: gossip_threshold: want a number, got bool"},
		{"bool as a number", `{"params": {"skip_atomic_validation": 1}}`, "params: skip_atomic_validation: want true or false, got number"},
		{"fractional integer", `{"params": {"ip_colocation_factor_threshold": 1.5}}`, "params: ip_colocation_factor_threshold: want an integer, got number 1.5"},
		{"huge integer", `{"params": {"ip_colocation_factor_threshold": 1e30}}`, "params: ip_colocation_factor_threshold: want an integer, got number 1e30"},
		{"number beyond float64", `{"params": {"decay_to_zero": 1e999}}`, "params: decay_to_zero: number 1e999 is beyond float64's range"},
		{"topic weight as a string", `{"params": {"topics": {"blocks": {"topic_weight": "1"}}}}`, `params: topic "blocks": topic_weight: want a number, got string`},
		{"params as an array", `{"params": []}`, "params: want an object, got array"},
		{"topics as an array", `{"params": {"topics": []}}`, "params: topics: want an object, got array"},
		{"null topic", `{"params": {"topics": {"a": {}, "blocks": null}}}`, `params: topic "blocks": null, want an object`},
		{"topic as a number", `{"params": {"topics": {"blocks": 1}}}`, `params: topic "blocks": want an object, got number`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := filledDocument(t)
			params, thresholds := doc.Params, doc.Thresholds
			before, err := json.Marshal(doc)
			require.NoError(t, err)

			err = json.Unmarshal([]byte(c.in), &doc)
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
			require.Same(t, params, doc.Params, "unchanged")
			require.Same(t, thresholds, doc.Thresholds, "unchanged")
			require.NotNil(t, doc.Params.AppSpecificScore, "unchanged")
			after, err := json.Marshal(doc)
			require.NoError(t, err)
			require.JSONEq(t, string(before), string(after), "unchanged")
		})
	}
}

// TestParamsJSONPartsBadInput: each type read on its own names itself and
// changes nothing on error.
func TestParamsJSONPartsBadInput(t *testing.T) {
	p := peerscore.Params{DecayToZero: 0.5}
	err := json.Unmarshal([]byte(`{"decay_to_zero": 0.1, "decay_interval": "soon"}`), &p)
	require.ErrorContains(t, err, `peerscore: params: decay_interval: "soon" is not a duration`)
	require.Equal(t, peerscore.Params{DecayToZero: 0.5}, p)

	tp := peerscore.TopicParams{TopicWeight: 2}
	err = json.Unmarshal([]byte(`{"topic_weight": 1, "time_in_mesh_weight": "x"}`), &tp)
	require.ErrorContains(t, err, "peerscore: topic params: time_in_mesh_weight: want a number, got string")
	require.Equal(t, peerscore.TopicParams{TopicWeight: 2}, tp)

	th := peerscore.Thresholds{GossipThreshold: -3}
	err = json.Unmarshal([]byte(`{"gossip_threshold": -1, "graylist": -2}`), &th)
	require.ErrorContains(t, err, `peerscore: thresholds: unknown field "graylist"`)
	require.Equal(t, peerscore.Thresholds{GossipThreshold: -3}, th)
}

// TestParamsJSONMarshalRefuses: what JSON cannot carry is an error naming
// the field and topic; nil networks, which the Scorer ignores, are left
// out, and a network is written masked.
func TestParamsJSONMarshalRefuses(t *testing.T) {
	cases := []struct {
		name string
		v    any
		want string
	}{
		{"NaN", &peerscore.Params{AppSpecificWeight: math.NaN()}, "peerscore: params: app_specific_weight: NaN has no JSON form"},
		{"topic Inf", &peerscore.Params{Topics: map[string]*peerscore.TopicParams{"blocks": {TimeInMeshCap: math.Inf(1)}}},
			`peerscore: params: topic "blocks": time_in_mesh_cap: +Inf has no JSON form`},
		{"nil topic", &peerscore.Params{Topics: map[string]*peerscore.TopicParams{"blocks": nil}}, `peerscore: params: topic "blocks": nil TopicParams`},
		{"odd mask", &peerscore.Params{IPColocationFactorWhitelist: []*net.IPNet{{IP: net.IP{10, 0, 0, 0}, Mask: net.IPMask{255, 0, 255, 0}}}},
			"peerscore: params: ip_colocation_factor_whitelist[0]: 10.0.0.0 has no CIDR form"},
		{"thresholds -Inf", &peerscore.Thresholds{GraylistThreshold: math.Inf(-1)}, "peerscore: thresholds: graylist_threshold: -Inf has no JSON form"},
		{"topic alone", peerscore.TopicParams{TopicWeight: math.NaN()}, "peerscore: topic params: topic_weight: NaN has no JSON form"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := json.Marshal(c.v)
			require.ErrorContains(t, err, c.want)
		})
	}

	p := peerscore.Params{IPColocationFactorWhitelist: []*net.IPNet{nil, {IP: net.IP{10, 1, 2, 3}, Mask: net.CIDRMask(16, 32)}}}
	raw, err := json.Marshal(p)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(raw, &got))
	require.Equal(t, []any{"10.1.0.0/16"}, got["ip_colocation_factor_whitelist"])
	require.Equal(t, map[string]any{}, got["topics"], "always written")
}

// checkParamsJSON is the property the mutation test and FuzzParamsJSON
// check on any input: reading never panics; on error the document is
// untouched; what is read writes, and reads back the same.
func checkParamsJSON(t *testing.T, in []byte) {
	var doc peerscore.ParamsDocument
	if err := json.Unmarshal(in, &doc); err != nil {
		require.Equal(t, peerscore.ParamsDocument{}, doc, "changed on error %v", err)
		return
	}
	out, err := json.Marshal(doc)
	require.NoError(t, err, "read %s", in)
	var again peerscore.ParamsDocument
	require.NoError(t, json.Unmarshal(out, &again), "wrote %s", out)
	require.Equal(t, doc, again)

	// The parts on their own never panic either.
	_ = json.Unmarshal(in, new(peerscore.Params))
	_ = json.Unmarshal(in, new(peerscore.TopicParams))
	_ = json.Unmarshal(in, new(peerscore.Thresholds))
}

// TestParamsJSONMutations: thousands of damaged copies of a full
// document (truncated, bytes deleted, replaced or inserted) through
// checkParamsJSON, deterministically.
func TestParamsJSONMutations(t *testing.T) {
	doc := filledDocument(t)
	doc.Params.AppSpecificScore = nil
	valid, err := json.Marshal(doc)
	require.NoError(t, err)
	checkParamsJSON(t, valid)

	for n := range len(valid) {
		checkParamsJSON(t, valid[:n])
	}
	alphabet := []byte(`{}[]":,0-1.e+nulltruefalse "\ sm`)
	rng := rand.New(rand.NewPCG(21, 7))
	for range 3000 {
		in := slices.Clone(valid)
		for range 1 + rng.IntN(3) {
			at := rng.IntN(len(in))
			switch c := alphabet[rng.IntN(len(alphabet))]; rng.IntN(3) {
			case 0:
				in = slices.Delete(in, at, at+1)
			case 1:
				in[at] = c
			default:
				in = slices.Insert(in, at, c)
			}
		}
		checkParamsJSON(t, in)
	}
}

// FuzzParamsJSON: checkParamsJSON on any bytes. Longer runs:
//
//	go test -run '^$' -fuzz '^FuzzParamsJSON$' -fuzztime 10m .
func FuzzParamsJSON(f *testing.F) {
	f.Add([]byte(`{"params": {"decay_interval": "1s", "ip_colocation_factor_whitelist": ["::1/128"], "topics": {"a": {"time_in_mesh_quantum": "-9223372036854775808ns"}}}, "thresholds": {"gossip_threshold": -1e308}}`))
	f.Add([]byte(`{"params": {"retain_score": "2562047h47m16.854775807s", "topics": {"": {}}}, "thresholds": null}`))
	f.Add([]byte(`{"params": {"topics": {"a": null}}}`))
	f.Add([]byte(`{"params": {"ip_colocation_factor_threshold": -9223372036854775808, "decay_to_zero": -0}}`))
	f.Add([]byte(`null`))
	f.Fuzz(checkParamsJSON)
}
