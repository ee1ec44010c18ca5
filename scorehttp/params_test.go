package scorehttp

import (
	"encoding/json"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
)

// TestParamsViewCoversEveryField fills every field of Params, TopicParams
// and Thresholds with a distinct value (by reflection, so a field added
// later is filled too) and checks that GET /params' view carries each one
// under its snake-case name, durations as text, with nothing else but the
// left-out AppSpecificScore function. It fails when a field is added to
// the peerscore types and not to the view.
func TestParamsViewCoversEveryField(t *testing.T) {
	var p peerscore.Params
	next := 0.0
	fill(t, reflect.ValueOf(&p).Elem(), &next)
	var th peerscore.Thresholds
	fill(t, reflect.ValueOf(&th).Elem(), &next)

	raw, err := json.Marshal(newParamsView(&p, &th))
	require.NoError(t, err)
	var got struct {
		Params     map[string]any `json:"params"`
		Thresholds map[string]any `json:"thresholds"`
	}
	require.NoError(t, json.Unmarshal(raw, &got))
	requireView(t, "Params", reflect.ValueOf(p), got.Params)
	requireView(t, "Thresholds", reflect.ValueOf(th), got.Thresholds)
}

// fill sets every field of the struct v to a distinct nonzero value.
func fill(t *testing.T, v reflect.Value, next *float64) {
	for i := range v.NumField() {
		f := v.Field(i)
		*next++
		switch f.Interface().(type) {
		case bool:
			f.SetBool(true)
		case float64:
			f.SetFloat(*next + 0.5)
		case int:
			f.SetInt(int64(*next))
		case time.Duration:
			f.SetInt(int64(*next) * int64(time.Millisecond))
		case []*net.IPNet:
			_, n, err := net.ParseCIDR("10.1.0.0/16")
			require.NoError(t, err)
			f.Set(reflect.ValueOf([]*net.IPNet{n}))
		case map[string]*peerscore.TopicParams:
			var tp peerscore.TopicParams
			fill(t, reflect.ValueOf(&tp).Elem(), next)
			f.Set(reflect.ValueOf(map[string]*peerscore.TopicParams{"blocks": &tp}))
		default:
			if f.Kind() != reflect.Func {
				t.Fatalf("field %s of %s has a type (%s) this test does not know: teach it and the view", v.Type().Field(i).Name, v.Type(), f.Type())
			}
		}
	}
}

// requireView checks that view holds every field of the struct v.
func requireView(t *testing.T, what string, v reflect.Value, view map[string]any) {
	t.Helper()
	want := map[string]any{}
	for i := range v.NumField() {
		name, f := v.Type().Field(i).Name, v.Field(i)
		switch x := f.Interface().(type) {
		case time.Duration:
			want[snake(name)] = x.String()
		case int:
			want[snake(name)] = float64(x)
		case []*net.IPNet:
			want[snake(name)] = []any{x[0].String()}
		case map[string]*peerscore.TopicParams:
			topics, ok := view[snake(name)].(map[string]any)
			require.Truef(t, ok, "%s.%s: %v", what, name, view[snake(name)])
			require.Len(t, topics, 1)
			requireView(t, what+".Topics", reflect.ValueOf(*x["blocks"]), topics["blocks"].(map[string]any))
			want[snake(name)] = topics
		default:
			if f.Kind() == reflect.Func {
				continue // AppSpecificScore: the application's code, not data
			}
			want[snake(name)] = x
		}
	}
	require.Equalf(t, want, view, "%s: every field, under its snake-case name", what)
}

// snake turns a Go field name into snake case, acronyms kept whole:
// IPColocationFactorWeight is ip_colocation_factor_weight, SeenMsgTTL
// seen_msg_ttl.
func snake(name string) string {
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
