package scoretest

import (
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
)

// FilledParams returns Params (with two topics) and Thresholds whose every
// field holds a distinct nonzero value, set by reflection so that a field
// added later is filled too: a test that carries them somewhere and back
// (the JSON format, a view) fails when the new field is not carried. A
// field of a type it does not know fails t, naming it. The values are not
// valid parameters.
func FilledParams(t testing.TB) (*peerscore.Params, *peerscore.Thresholds) {
	t.Helper()
	next := 0
	var p peerscore.Params
	fillFields(t, reflect.ValueOf(&p).Elem(), &next)
	var th peerscore.Thresholds
	fillFields(t, reflect.ValueOf(&th).Elem(), &next)
	return &p, &th
}

func fillFields(t testing.TB, v reflect.Value, next *int) {
	t.Helper()
	for i := range v.NumField() {
		f := v.Field(i)
		*next++
		n := *next
		switch f.Interface().(type) {
		case bool:
			f.SetBool(true)
		case float64:
			f.SetFloat(float64(n) + 0.1) // not exact in binary: the shortest form must round-trip
		case int:
			f.SetInt(int64(n))
		case time.Duration:
			f.SetInt(int64(time.Duration(n)*time.Minute + time.Duration(n)*time.Nanosecond))
		case []*net.IPNet:
			f.Set(reflect.ValueOf([]*net.IPNet{CIDR("10.1.0.0/16"), CIDR("2001:db8::/32")}))
		case map[string]*peerscore.TopicParams:
			var a, b peerscore.TopicParams
			fillFields(t, reflect.ValueOf(&a).Elem(), next)
			fillFields(t, reflect.ValueOf(&b).Elem(), next)
			f.Set(reflect.ValueOf(map[string]*peerscore.TopicParams{"blocks": &a, "/eth2/00000000/beacon_block/ssz_snappy": &b}))
		case func(peer.ID) float64:
			f.Set(reflect.ValueOf(func(peer.ID) float64 { return 1 }))
		default:
			t.Fatalf("field %s of %s has a type (%s) FilledParams does not know: teach it, and the JSON format (params_json.go)",
				v.Type().Field(i).Name, v.Type(), f.Type())
		}
	}
}
