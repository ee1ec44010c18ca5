package peerscore_test

import (
	"net"
	"reflect"
	"sort"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// fullPubsubParams is a pubsub configuration with every field set, three
// topics and a whitelist of IPv4 and IPv6 networks.
func fullPubsubParams() *pubsub.PeerScoreParams {
	return &pubsub.PeerScoreParams{
		SkipAtomicValidation: true,
		Topics: map[string]*pubsub.TopicScoreParams{
			"blocks":       fullPubsubTopic(1),
			"attestations": fullPubsubTopic(2),
			"sync":         fullPubsubTopic(3),
		},
		TopicScoreCap:               32.5,
		AppSpecificScore:            func(p peer.ID) float64 { return float64(len(p)) + 0.25 },
		AppSpecificWeight:           1.5,
		IPColocationFactorWeight:    -35,
		IPColocationFactorThreshold: 10,
		IPColocationFactorWhitelist: []*net.IPNet{scoretest.CIDR("10.0.0.0/8"), scoretest.CIDR("192.168.1.0/24"), scoretest.CIDR("2001:db8::/32")},
		BehaviourPenaltyWeight:      -15.5,
		BehaviourPenaltyThreshold:   6,
		BehaviourPenaltyDecay:       0.986,
		DecayInterval:               12 * time.Second,
		DecayToZero:                 0.01,
		RetainScore:                 100 * 12 * time.Second,
		SeenMsgTTL:                  550 * 12 * time.Second,
	}
}

func fullPubsubTopic(k float64) *pubsub.TopicScoreParams {
	d := time.Duration(k)
	return &pubsub.TopicScoreParams{
		SkipAtomicValidation:            true,
		TopicWeight:                     0.5 * k,
		TimeInMeshWeight:                0.03 * k,
		TimeInMeshQuantum:               12 * time.Second * d,
		TimeInMeshCap:                   300 * k,
		FirstMessageDeliveriesWeight:    1.1 * k,
		FirstMessageDeliveriesDecay:     0.9 + 0.01*k,
		FirstMessageDeliveriesCap:       23 * k,
		MeshMessageDeliveriesWeight:     -0.7 * k,
		MeshMessageDeliveriesDecay:      0.8 + 0.01*k,
		MeshMessageDeliveriesCap:        100 * k,
		MeshMessageDeliveriesThreshold:  20 * k,
		MeshMessageDeliveriesWindow:     2 * time.Millisecond * d,
		MeshMessageDeliveriesActivation: 4 * time.Minute * d,
		MeshFailurePenaltyWeight:        -0.6 * k,
		MeshFailurePenaltyDecay:         0.7 + 0.01*k,
		InvalidMessageDeliveriesWeight:  -99 * k,
		InvalidMessageDeliveriesDecay:   0.99 + 0.001*k,
	}
}

func fullPubsubThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		SkipAtomicValidation:        true,
		GossipThreshold:             -4000,
		PublishThreshold:            -8000,
		GraylistThreshold:           -16000,
		AcceptPXThreshold:           100,
		OpportunisticGraftThreshold: 5,
	}
}

// requireNoZeroField fails if a field of the struct v points to is zero, so
// that the fixtures above really exercise every field.
func requireNoZeroField(t *testing.T, v any) {
	t.Helper()
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		require.False(t, rv.Field(i).IsZero(), "%s.%s is zero in the fixture", rv.Type().Name(), rv.Type().Field(i).Name)
	}
}

// assertSameFields compares the fields of two structs by name, skipping the
// names in skip.
func assertSameFields(t *testing.T, ours, theirs any, skip ...string) {
	t.Helper()
	o, p := reflect.ValueOf(ours).Elem(), reflect.ValueOf(theirs).Elem()
	for i := range p.NumField() {
		name := p.Type().Field(i).Name
		if contains(skip, name) {
			continue
		}
		f := o.FieldByName(name)
		if assert.True(t, f.IsValid(), "field %s missing", name) {
			assert.Equal(t, p.Field(i).Interface(), f.Interface(), "field %s", name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func pubsubWithoutFunc(p *pubsub.PeerScoreParams) pubsub.PeerScoreParams {
	c := *p
	c.AppSpecificScore = nil
	return c
}

func TestConvertRoundTrip(t *testing.T) {
	orig := fullPubsubParams()
	requireNoZeroField(t, orig)
	for _, tp := range orig.Topics {
		requireNoZeroField(t, tp)
	}

	ours := peerscore.ParamsFromPubsub(orig)
	assertSameFields(t, ours, orig, "Topics", "AppSpecificScore")
	require.Len(t, ours.Topics, len(orig.Topics))
	for name, tp := range orig.Topics {
		require.Contains(t, ours.Topics, name)
		assertSameFields(t, ours.Topics[name], tp)
	}
	assert.Zero(t, ours.SlowPeerWeight+ours.SlowPeerThreshold+ours.SlowPeerDecay)
	assert.Zero(t, ours.SlowPeerWriteThreshold)

	back := ours.ToPubsub()
	assert.Equal(t, pubsubWithoutFunc(orig), pubsubWithoutFunc(back))
	for _, id := range []peer.ID{"", "a", "some-peer"} {
		want := orig.AppSpecificScore(id)
		assert.Equal(t, want, ours.AppSpecificScore(id))
		assert.Equal(t, want, back.AppSpecificScore(id))
	}

	th := fullPubsubThresholds()
	requireNoZeroField(t, th)
	oursTh := peerscore.ThresholdsFromPubsub(th)
	assertSameFields(t, oursTh, th)
	assert.Equal(t, th, oursTh.ToPubsub())

	tp := fullPubsubTopic(7)
	oursTp := peerscore.TopicParamsFromPubsub(tp)
	assertSameFields(t, oursTp, tp)
	assert.Equal(t, tp, oursTp.ToPubsub())
}

func TestConvertDropsSlowPeer(t *testing.T) {
	p := scoretest.ValidParams(atomicMode)
	require.NotZero(t, p.SlowPeerWeight)
	require.NotZero(t, p.SlowPeerWriteThreshold)
	back := peerscore.ParamsFromPubsub(p.ToPubsub())
	want := withoutFunc(p)
	want.SlowPeerWeight, want.SlowPeerThreshold, want.SlowPeerDecay = 0, 0, 0
	want.SlowPeerWriteThreshold = 0
	assert.Equal(t, want, withoutFunc(back))
}

func TestConvertNil(t *testing.T) {
	assert.Nil(t, peerscore.ParamsFromPubsub(nil))
	assert.Nil(t, (*peerscore.Params)(nil).ToPubsub())
	assert.Nil(t, peerscore.TopicParamsFromPubsub(nil))
	assert.Nil(t, (*peerscore.TopicParams)(nil).ToPubsub())
	assert.Nil(t, peerscore.ThresholdsFromPubsub(nil))
	assert.Nil(t, (*peerscore.Thresholds)(nil).ToPubsub())

	// Nil maps and slices stay nil, empty ones stay empty.
	assert.Equal(t, &peerscore.Params{}, peerscore.ParamsFromPubsub(&pubsub.PeerScoreParams{}))
	assert.Equal(t, &pubsub.PeerScoreParams{}, (&peerscore.Params{}).ToPubsub())
	empty := peerscore.ParamsFromPubsub(&pubsub.PeerScoreParams{Topics: map[string]*pubsub.TopicScoreParams{}})
	assert.NotNil(t, empty.Topics)
	assert.Empty(t, empty.Topics)
}

// mutatePubsub changes, in place, everything a shallow copy would share.
func mutatePubsub(p *pubsub.PeerScoreParams) {
	p.Topics["extra"] = &pubsub.TopicScoreParams{TopicWeight: 9}
	delete(p.Topics, "sync")
	p.Topics["blocks"].TopicWeight = 99
	mutateWhitelist(p.IPColocationFactorWhitelist)
}

// mutateOurs is mutatePubsub for our Params.
func mutateOurs(p *peerscore.Params) {
	p.Topics["extra"] = &peerscore.TopicParams{TopicWeight: 9}
	delete(p.Topics, "sync")
	p.Topics["blocks"].TopicWeight = 99
	mutateWhitelist(p.IPColocationFactorWhitelist)
}

// mutateWhitelist changes fullPubsubParams' whitelist in place: one entry
// replaced, and the IP and mask bytes of the others.
func mutateWhitelist(wl []*net.IPNet) {
	wl[0] = scoretest.CIDR("1.2.3.0/24")
	wl[1].IP[0] ^= 0xff
	wl[1].Mask[3] ^= 0xff
	wl[2].IP[15] ^= 1
}

func TestConvertDeepCopy(t *testing.T) {
	t.Run("mutate pubsub source", func(t *testing.T) {
		src := fullPubsubParams()
		got := peerscore.ParamsFromPubsub(src)
		mutatePubsub(src)
		assert.Equal(t, withoutFunc(peerscore.ParamsFromPubsub(fullPubsubParams())), withoutFunc(got))
	})
	t.Run("mutate ours after FromPubsub", func(t *testing.T) {
		src := fullPubsubParams()
		mutateOurs(peerscore.ParamsFromPubsub(src))
		assert.Equal(t, pubsubWithoutFunc(fullPubsubParams()), pubsubWithoutFunc(src))
	})
	t.Run("mutate ours source", func(t *testing.T) {
		src := peerscore.ParamsFromPubsub(fullPubsubParams())
		got := src.ToPubsub()
		mutateOurs(src)
		assert.Equal(t, pubsubWithoutFunc(fullPubsubParams()), pubsubWithoutFunc(got))
	})
	t.Run("mutate pubsub after ToPubsub", func(t *testing.T) {
		src := peerscore.ParamsFromPubsub(fullPubsubParams())
		mutatePubsub(src.ToPubsub())
		assert.Equal(t, withoutFunc(peerscore.ParamsFromPubsub(fullPubsubParams())), withoutFunc(src))
	})
	t.Run("topic and thresholds", func(t *testing.T) {
		tp := fullPubsubTopic(1)
		ours := peerscore.TopicParamsFromPubsub(tp)
		tp.TopicWeight = 42
		assert.Equal(t, fullPubsubTopic(1).TopicWeight, ours.TopicWeight)
		theirs := ours.ToPubsub()
		ours.TimeInMeshCap = 42
		assert.Equal(t, fullPubsubTopic(1).TimeInMeshCap, theirs.TimeInMeshCap)

		th := fullPubsubThresholds()
		oursTh := peerscore.ThresholdsFromPubsub(th)
		th.GossipThreshold = 0
		assert.Equal(t, fullPubsubThresholds().GossipThreshold, oursTh.GossipThreshold)
		theirsTh := oursTh.ToPubsub()
		oursTh.AcceptPXThreshold = 0
		assert.Equal(t, fullPubsubThresholds().AcceptPXThreshold, theirsTh.AcceptPXThreshold)
	})
}

// TestConvertFieldSets fails when pubsub gains, loses or retypes a field
// that our types do not mirror, so that a conversion cannot silently drop it.
func TestConvertFieldSets(t *testing.T) {
	// Types of ours that stand for a pubsub type.
	translate := map[reflect.Type]reflect.Type{
		reflect.TypeFor[map[string]*peerscore.TopicParams](): reflect.TypeFor[map[string]*pubsub.TopicScoreParams](),
	}
	cases := []struct {
		name         string
		ours, theirs reflect.Type
		oursOnly     []string
	}{
		{"Params", reflect.TypeFor[peerscore.Params](), reflect.TypeFor[pubsub.PeerScoreParams](),
			[]string{"SlowPeerWeight", "SlowPeerThreshold", "SlowPeerDecay", "SlowPeerWriteThreshold"}},
		{"TopicParams", reflect.TypeFor[peerscore.TopicParams](), reflect.TypeFor[pubsub.TopicScoreParams](), nil},
		{"Thresholds", reflect.TypeFor[peerscore.Thresholds](), reflect.TypeFor[pubsub.PeerScoreThresholds](), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ours, theirs := fieldTypes(c.ours), fieldTypes(c.theirs)
			for _, name := range c.oursOnly {
				require.Contains(t, ours, name)
				delete(ours, name)
			}
			require.Equal(t, sortedKeys(theirs), sortedKeys(ours))
			for name, typ := range ours {
				if tr, found := translate[typ]; found {
					typ = tr
				}
				assert.Equal(t, theirs[name], typ, "type of %s: ours %v, pubsub %v", name, typ, theirs[name])
			}
		})
	}
}

func fieldTypes(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		out[t.Field(i).Name] = t.Field(i).Type
	}
	return out
}

func sortedKeys(m map[string]reflect.Type) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// withoutFunc returns a shallow copy of p with AppSpecificScore cleared, so
// that two Params can be compared with assert.Equal.
func withoutFunc(p *peerscore.Params) peerscore.Params {
	c := *p
	c.AppSpecificScore = nil
	return c
}
