package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"
)

// withBeforeBatch holds the writer up in fn before each batch.
func withBeforeBatch(fn func()) RecorderOption {
	return func(c *recorderConfig) error {
		c.beforeBatch = fn
		return nil
	}
}

// TestRecorderFullBuffer: with the writer stuck (a disk that does not
// answer), the router's calls still return at once: what fits in the
// buffer waits, the rest is dropped and counted; once the writer moves,
// what waited is written, in order.
func TestRecorderFullBuffer(t *testing.T) {
	dir := t.TempDir()
	const fits = 10
	synctest.Test(t, func(t *testing.T) {
		stuck := make(chan struct{})
		held := false
		r, err := NewRecorder(dir, peer.ID("self"), WithManualStart(),
			WithBufferSize(fits*itemBase),
			withBeforeBatch(func() {
				if !held {
					held = true
					<-stuck
				}
			}))
		require.NoError(t, err)
		defer r.Close()
		defer close(stuck) // first: a failure must not leave the writer stuck
		for i := range 100 {
			r.Join(fmt.Sprintf("topic-%02d", i)) // would deadlock the bubble if it waited
		}
		synctest.Wait()
		st := r.Stats()
		require.Equal(t, uint64(100-fits), st.Dropped)
		require.Zero(t, st.Events)
		stuck <- struct{}{}
		synctest.Wait()
		r.Join("after") // room again
		require.NoError(t, r.Close())
		st = r.Stats()
		require.Equal(t, uint64(fits+1), st.Events)
		require.Equal(t, uint64(100-fits), st.Dropped)
	})
	src, err := Open(dir)
	require.NoError(t, err)
	defer src.Close()
	var topics []string
	for {
		ev, err := src.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		topics = append(topics, ev.Trace.GetJoin().GetTopic())
	}
	var want []string
	for i := range fits {
		want = append(want, fmt.Sprintf("topic-%02d", i))
	}
	require.Equal(t, append(want, "after"), topics)
}

// TestAppendExtra: the writer's JSON for an extra reads back, with
// encoding/json, as what encoding/json's own encoding of it reads back
// as: every field of Extra (filled by reflection, so that a field added to
// the contract and not to appendExtra fails here), escapes, invalid UTF-8
// and extreme numbers included.
func TestAppendExtra(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	str := func() string {
		alphabet := []string{"a", "Z", "9", "/", "\"", "\\", "<", ">", "&", "\n", "\x00", "\x7f", "é", "\xff", "\u2028", " "}
		var sb strings.Builder
		for range 1 + rng.IntN(12) {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return sb.String()
	}
	num := func() float64 {
		return []float64{1, -2.5, 1e-300, 1e300, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, rng.NormFloat64() * 1e6}[rng.IntN(8)]
	}
	// fill gives v a random value, never its zero value (so that no field
	// hides behind omitempty), whatever Extra's fields are.
	var fill func(v reflect.Value, name string)
	fill = func(v reflect.Value, name string) {
		switch v.Kind() {
		case reflect.String:
			v.SetString(str())
		case reflect.Int64:
			v.SetInt(rng.Int64() - rng.Int64() | 1)
		case reflect.Uint64:
			v.SetUint(rng.Uint64() | 1)
		case reflect.Uint8:
			v.SetUint(uint64(rng.IntN(256)))
		case reflect.Float64:
			v.SetFloat(num())
		case reflect.Slice:
			s := reflect.MakeSlice(v.Type(), 1+rng.IntN(3), 4)
			for i := range s.Len() {
				fill(s.Index(i), name)
			}
			v.Set(s)
		case reflect.Map:
			m := reflect.MakeMap(v.Type())
			for range 1 + rng.IntN(3) {
				k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
				fill(k, name)
				fill(e, name)
				m.SetMapIndex(k, e)
			}
			v.Set(m)
		case reflect.Pointer:
			p := reflect.New(v.Type().Elem())
			fill(p.Elem(), name)
			v.Set(p)
		case reflect.Struct:
			for i := range v.NumField() {
				fill(v.Field(i), name+"."+v.Type().Field(i).Name)
			}
		default:
			t.Fatalf("Extra.%s: a %v, which this test cannot fill (nor appendExtra perhaps encode)", name, v.Kind())
		}
	}
	fields := reflect.TypeFor[Extra]().NumField()
	for i := range 3000 {
		var x Extra
		v := reflect.ValueOf(&x).Elem()
		for f := range fields {
			if i == 0 || rng.IntN(2) == 0 { // the first case has them all
				fill(v.Field(f), v.Type().Field(f).Name)
			}
		}
		line := appendExtra(nil, &x)
		require.True(t, bytes.HasSuffix(line, []byte("}\n")), "case %d: one line", i)
		require.Equal(t, 1, bytes.Count(line, []byte("\n")), "case %d: one line", i)
		var got, want Extra
		require.NoError(t, json.Unmarshal(line, &got), "case %d: %s", i, line)
		std, err := json.Marshal(x)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(std, &want))
		require.Equal(t, want, got, "case %d: %s", i, line)
	}
}
