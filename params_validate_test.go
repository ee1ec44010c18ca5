package peerscore_test

// Validate (params_validate.go), in tables. Every row starts from a
// complete, valid configuration (scoretest.ValidParams, ValidTopic,
// ValidThresholds) in the row's mode, changes what the row is about, and
// states the verdict: ok, or bad(field) with the field the error must name.
// Each row is also put to go-libp2p-pubsub (pubsubChecker, at the end),
// which must agree, unless the verdict carries ownRule: a rule pubsub does
// not have or cannot be asked about. One file for the tables and their
// runner: the rows are the test. The rows that give a float field NaN,
// +Inf and -Inf are made by nonFinite, three for each field it names.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

var (
	nan  = math.NaN()
	pInf = math.Inf(1)
	nInf = math.Inf(-1)
)

const (
	atomicMode = false // SkipAtomicValidation off
	skipMode   = true  // SkipAtomicValidation on

	slowPeerOnly = "pubsub has no slow-peer penalty"
	tickerPanic  = "pubsub accepts a zero DecayInterval in skip mode, then panics in time.NewTicker"
)

type verdict struct {
	valid    bool
	field    string // the field the error must name when !valid
	noPubsub string // why the row is not put to pubsub
}

var ok = verdict{valid: true}

func bad(field string) verdict { return verdict{field: field} }

func (v verdict) ownRule(why string) verdict { v.noPubsub = why; return v }

type row[T any] struct {
	name string
	skip bool
	set  func(*T)
	want verdict
}

// nonFinite are the rows that set each float field (by name) to NaN, +Inf
// and -Inf in atomic mode, named "field NaN" and so on, with the verdict
// want gives for the field.
func nonFinite[T any](want func(field string) verdict, fields ...string) []row[T] {
	var rows []row[T]
	for _, field := range fields {
		for _, v := range []struct {
			name  string
			value float64
		}{{"NaN", nan}, {"+Inf", pInf}, {"-Inf", nInf}} {
			set := func(x *T) { reflect.ValueOf(x).Elem().FieldByName(field).SetFloat(v.value) }
			rows = append(rows, row[T]{field + " " + v.name, atomicMode, set, want(field)})
		}
	}
	return rows
}

type (
	paramsRow     = row[peerscore.Params]
	topicRow      = row[peerscore.TopicParams]
	thresholdsRow = row[peerscore.Thresholds]
)

type P = peerscore.Params

func paramsRows() []paramsRow {
	rows := []paramsRow{
		{"base", atomicMode, func(*P) {}, ok},
		{"base skip", skipMode, func(*P) {}, ok},
		{"all zero", atomicMode, func(p *P) { *p = P{} }, bad("AppSpecificScore")},
		{"all zero skip", skipMode, func(p *P) { *p = P{SkipAtomicValidation: true} }, ok.ownRule(tickerPanic)},
		{"Topics nil", atomicMode, func(p *P) { p.Topics = nil }, ok},
		{"Topics empty", atomicMode, func(p *P) { p.Topics = map[string]*peerscore.TopicParams{} }, ok},

		{"TopicScoreCap zero", atomicMode, func(p *P) { p.TopicScoreCap = 0 }, ok},
		{"TopicScoreCap large", atomicMode, func(p *P) { p.TopicScoreCap = 1e9 }, ok},
		{"TopicScoreCap negative", atomicMode, func(p *P) { p.TopicScoreCap = -1 }, bad("TopicScoreCap")},
		{"TopicScoreCap zero skip", skipMode, func(p *P) { p.TopicScoreCap = 0 }, ok},
		{"TopicScoreCap negative skip", skipMode, func(p *P) { p.TopicScoreCap = -1 }, bad("TopicScoreCap")},
		{"TopicScoreCap NaN skip", skipMode, func(p *P) { p.TopicScoreCap = nan }, bad("TopicScoreCap")},
		{"TopicScoreCap +Inf skip", skipMode, func(p *P) { p.TopicScoreCap = pInf }, bad("TopicScoreCap")},

		{"AppSpecificScore nil", atomicMode, func(p *P) { p.AppSpecificScore = nil }, bad("AppSpecificScore")},
		{"AppSpecificScore nil skip", skipMode, func(p *P) { p.AppSpecificScore = nil }, ok},
		{"AppSpecificWeight zero", atomicMode, func(p *P) { p.AppSpecificWeight = 0 }, ok},
		{"AppSpecificWeight negative", atomicMode, func(p *P) { p.AppSpecificWeight = -5 }, ok},
		{"AppSpecificWeight zero skip", skipMode, func(p *P) { p.AppSpecificWeight = 0 }, ok},

		{"IPColocationFactorWeight zero", atomicMode, func(p *P) { p.IPColocationFactorWeight = 0 }, ok},
		{"IPColocationFactorWeight positive", atomicMode, func(p *P) { p.IPColocationFactorWeight = 1 }, bad("IPColocationFactorWeight")},
		{"IPColocationFactorWeight zero skip", skipMode, func(p *P) { p.IPColocationFactorWeight = 0 }, ok},
		{"IPColocationFactorWeight positive skip", skipMode, func(p *P) { p.IPColocationFactorWeight = 1 }, bad("IPColocationFactorWeight")},
		{"IPColocationFactorWeight NaN skip", skipMode, func(p *P) { p.IPColocationFactorWeight = nan }, bad("IPColocationFactorWeight")},
		{"IPColocationFactorThreshold zero", atomicMode, func(p *P) { p.IPColocationFactorThreshold = 0 }, bad("IPColocationFactorThreshold")},
		{"IPColocationFactorThreshold negative", atomicMode, func(p *P) { p.IPColocationFactorThreshold = -1 }, bad("IPColocationFactorThreshold")},
		{"IPColocationFactorThreshold one", atomicMode, func(p *P) { p.IPColocationFactorThreshold = 1 }, ok},
		{"IPColocationFactorThreshold zero, weight off", atomicMode, func(p *P) { p.IPColocationFactorWeight, p.IPColocationFactorThreshold = 0, 0 }, ok},
		{"IPColocationFactorThreshold zero skip", skipMode, func(p *P) { p.IPColocationFactorThreshold = 0 }, bad("IPColocationFactorThreshold")},
		{"IPColocation group zero skip", skipMode, func(p *P) { p.IPColocationFactorWeight, p.IPColocationFactorThreshold = 0, 0 }, ok},
		{"IPColocationFactorThreshold negative, weight off skip", skipMode, func(p *P) { p.IPColocationFactorWeight, p.IPColocationFactorThreshold = 0, -5 }, ok},
		{"IPColocationFactorWhitelist nil", atomicMode, func(p *P) { p.IPColocationFactorWhitelist = nil }, ok},

		{"BehaviourPenaltyWeight zero", atomicMode, func(p *P) { p.BehaviourPenaltyWeight = 0 }, ok},
		{"BehaviourPenaltyWeight large negative", atomicMode, func(p *P) { p.BehaviourPenaltyWeight = -1e6 }, ok},
		{"BehaviourPenaltyWeight positive", atomicMode, func(p *P) { p.BehaviourPenaltyWeight = 1 }, bad("BehaviourPenaltyWeight")},
		{"BehaviourPenaltyWeight zero skip", skipMode, func(p *P) { p.BehaviourPenaltyWeight = 0 }, ok},
		{"BehaviourPenaltyWeight positive skip", skipMode, func(p *P) { p.BehaviourPenaltyWeight = 1 }, bad("BehaviourPenaltyWeight")},
		{"BehaviourPenaltyDecay zero", atomicMode, func(p *P) { p.BehaviourPenaltyDecay = 0 }, bad("BehaviourPenaltyDecay")},
		{"BehaviourPenaltyDecay one", atomicMode, func(p *P) { p.BehaviourPenaltyDecay = 1 }, bad("BehaviourPenaltyDecay")},
		{"BehaviourPenaltyDecay negative", atomicMode, func(p *P) { p.BehaviourPenaltyDecay = -0.5 }, bad("BehaviourPenaltyDecay")},
		{"BehaviourPenaltyDecay near one", atomicMode, func(p *P) { p.BehaviourPenaltyDecay = 0.9999 }, ok},
		{"BehaviourPenaltyDecay zero skip", skipMode, func(p *P) { p.BehaviourPenaltyDecay = 0 }, bad("BehaviourPenaltyDecay")},
		{"BehaviourPenaltyDecay ignored, weight off", atomicMode, func(p *P) { p.BehaviourPenaltyWeight, p.BehaviourPenaltyDecay = 0, 5 }, ok},
		{"BehaviourPenaltyDecay NaN ignored, weight off", atomicMode, func(p *P) { p.BehaviourPenaltyWeight, p.BehaviourPenaltyDecay = 0, nan }, ok},
		{"BehaviourPenaltyDecay outside the group skip", skipMode, func(p *P) { p.BehaviourPenaltyWeight, p.BehaviourPenaltyThreshold, p.BehaviourPenaltyDecay = 0, 0, 5 }, ok},
		{"BehaviourPenalty group zero skip", skipMode, func(p *P) { p.BehaviourPenaltyWeight, p.BehaviourPenaltyThreshold, p.BehaviourPenaltyDecay = 0, 0, 0 }, ok},
		{"BehaviourPenaltyThreshold zero", atomicMode, func(p *P) { p.BehaviourPenaltyThreshold = 0 }, ok},
		{"BehaviourPenaltyThreshold negative", atomicMode, func(p *P) { p.BehaviourPenaltyThreshold = -1 }, bad("BehaviourPenaltyThreshold")},
		{"BehaviourPenaltyThreshold zero skip", skipMode, func(p *P) { p.BehaviourPenaltyThreshold = 0 }, ok},
		{"BehaviourPenaltyThreshold negative, weight off skip", skipMode, func(p *P) { p.BehaviourPenaltyWeight, p.BehaviourPenaltyThreshold = 0, -1 }, bad("BehaviourPenaltyThreshold")},
		{"BehaviourPenaltyThreshold NaN skip", skipMode, func(p *P) { p.BehaviourPenaltyThreshold = nan }, bad("BehaviourPenaltyThreshold")},

		{"DecayInterval one slot", atomicMode, func(p *P) { p.DecayInterval = 12 * time.Second }, ok},
		{"DecayInterval below 1s", atomicMode, func(p *P) { p.DecayInterval = time.Second - 1 }, bad("DecayInterval")},
		{"DecayInterval zero", atomicMode, func(p *P) { p.DecayInterval = 0 }, bad("DecayInterval")},
		{"DecayInterval negative", atomicMode, func(p *P) { p.DecayInterval = -time.Second }, bad("DecayInterval")},
		{"DecayInterval zero skip", skipMode, func(p *P) { p.DecayInterval = 0 }, bad("DecayInterval")},
		{"DecayInterval below 1s skip", skipMode, func(p *P) { p.DecayInterval = time.Millisecond }, bad("DecayInterval")},
		{"DecayToZero half", atomicMode, func(p *P) { p.DecayToZero = 0.5 }, ok},
		{"DecayToZero zero", atomicMode, func(p *P) { p.DecayToZero = 0 }, bad("DecayToZero")},
		{"DecayToZero one", atomicMode, func(p *P) { p.DecayToZero = 1 }, bad("DecayToZero")},
		{"DecayToZero negative", atomicMode, func(p *P) { p.DecayToZero = -0.01 }, bad("DecayToZero")},
		{"DecayToZero zero skip", skipMode, func(p *P) { p.DecayToZero = 0 }, bad("DecayToZero")},
		{"DecayToZero NaN skip", skipMode, func(p *P) { p.DecayToZero = nan }, bad("DecayToZero")},
		{"Decay group zero skip", skipMode, func(p *P) { p.DecayInterval, p.DecayToZero = 0, 0 }, ok.ownRule(tickerPanic)},

		{"RetainScore zero", atomicMode, func(p *P) { p.RetainScore = 0 }, ok},
		{"RetainScore negative", atomicMode, func(p *P) { p.RetainScore = -time.Hour }, ok},
		{"SeenMsgTTL zero", atomicMode, func(p *P) { p.SeenMsgTTL = 0 }, ok},
		{"SeenMsgTTL negative", atomicMode, func(p *P) { p.SeenMsgTTL = -time.Second }, ok},
	}
	rows = append(rows, nonFinite[P](func(string) verdict { return ok }, "AppSpecificWeight")...)
	return append(rows, nonFinite[P](bad, "TopicScoreCap", "IPColocationFactorWeight",
		"BehaviourPenaltyWeight", "BehaviourPenaltyDecay", "BehaviourPenaltyThreshold", "DecayToZero")...)
}

// slowPeerRows cover the fields pubsub does not have; they are never put to
// pubsub (ToPubsub drops them).
func slowPeerRows() []paramsRow {
	off := func(p *P) { p.SlowPeerWeight, p.SlowPeerThreshold, p.SlowPeerDecay = 0, 0, 0 }
	own := func(v verdict) verdict { return v.ownRule(slowPeerOnly) }
	w, d, th, wt := "SlowPeerWeight", "SlowPeerDecay", "SlowPeerThreshold", "SlowPeerWriteThreshold"
	rows := []paramsRow{
		{"SlowPeer all zero", atomicMode, off, own(ok)},
		{"SlowPeer all zero skip", skipMode, off, own(ok)},
		{"SlowPeerWeight positive", atomicMode, func(p *P) { p.SlowPeerWeight = 1 }, own(bad(w))},
		{"SlowPeerWeight positive skip", skipMode, func(p *P) { p.SlowPeerWeight = 1 }, own(bad(w))},
		{"SlowPeerWeight zero, rest set", atomicMode, func(p *P) { p.SlowPeerWeight = 0 }, own(ok)},
		{"SlowPeerDecay ignored, weight off", atomicMode, func(p *P) { p.SlowPeerWeight, p.SlowPeerDecay = 0, 5 }, own(ok)},
		{"SlowPeerDecay zero", atomicMode, func(p *P) { p.SlowPeerDecay = 0 }, own(bad(d))},
		{"SlowPeerDecay one", atomicMode, func(p *P) { p.SlowPeerDecay = 1 }, own(bad(d))},
		{"SlowPeerDecay negative", atomicMode, func(p *P) { p.SlowPeerDecay = -0.5 }, own(bad(d))},
		{"SlowPeerDecay zero skip", skipMode, func(p *P) { p.SlowPeerDecay = 0 }, own(bad(d))},
		{"SlowPeerThreshold zero", atomicMode, func(p *P) { p.SlowPeerThreshold = 0 }, own(ok)},
		{"SlowPeerThreshold negative", atomicMode, func(p *P) { p.SlowPeerThreshold = -1 }, own(bad(th))},
		{"SlowPeerThreshold alone negative skip", skipMode, func(p *P) { off(p); p.SlowPeerThreshold = -1 }, own(bad(th))},

		{"SlowPeerWriteThreshold zero", atomicMode, func(p *P) { p.SlowPeerWriteThreshold = 0 }, own(ok)},
		{"SlowPeerWriteThreshold large", atomicMode, func(p *P) { p.SlowPeerWriteThreshold = time.Hour }, own(ok)},
		{"SlowPeerWriteThreshold negative", atomicMode, func(p *P) { p.SlowPeerWriteThreshold = -1 }, own(bad(wt))},
		{"SlowPeerWriteThreshold negative skip", skipMode, func(p *P) { p.SlowPeerWriteThreshold = -time.Second }, own(bad(wt))},
		{"SlowPeerWriteThreshold set, weight off", atomicMode, func(p *P) { off(p); p.SlowPeerWriteThreshold = time.Second }, own(ok)},
		{"SlowPeerWriteThreshold negative, weight off skip", skipMode, func(p *P) { off(p); p.SlowPeerWriteThreshold = -1 }, own(bad(wt))},
	}
	return append(rows, nonFinite[P](func(field string) verdict { return own(bad(field)) }, w, d, th)...)
}

type TP = peerscore.TopicParams

func topicRows() []topicRow {
	rows := []topicRow{
		{"base", atomicMode, func(*TP) {}, ok},
		{"base skip", skipMode, func(*TP) {}, ok},
		{"all zero", atomicMode, func(tp *TP) { *tp = TP{} }, bad("TimeInMeshQuantum")},
		{"all zero skip", skipMode, func(tp *TP) { *tp = TP{SkipAtomicValidation: true} }, ok},

		{"TopicWeight zero", atomicMode, func(tp *TP) { tp.TopicWeight = 0 }, ok},
		{"TopicWeight large", atomicMode, func(tp *TP) { tp.TopicWeight = 1e6 }, ok},
		{"TopicWeight negative", atomicMode, func(tp *TP) { tp.TopicWeight = -1 }, bad("TopicWeight")},
		{"TopicWeight zero skip", skipMode, func(tp *TP) { tp.TopicWeight = 0 }, ok},
		{"TopicWeight negative skip", skipMode, func(tp *TP) { tp.TopicWeight = -1 }, bad("TopicWeight")},

		{"TimeInMeshWeight zero", atomicMode, func(tp *TP) { tp.TimeInMeshWeight = 0 }, ok},
		{"TimeInMeshWeight negative", atomicMode, func(tp *TP) { tp.TimeInMeshWeight = -0.1 }, bad("TimeInMeshWeight")},
		{"TimeInMeshWeight zero skip", skipMode, func(tp *TP) { tp.TimeInMeshWeight = 0 }, ok},
		{"TimeInMeshQuantum zero", atomicMode, func(tp *TP) { tp.TimeInMeshQuantum = 0 }, bad("TimeInMeshQuantum")},
		{"TimeInMeshQuantum zero, weight off", atomicMode, func(tp *TP) { tp.TimeInMeshWeight, tp.TimeInMeshQuantum = 0, 0 }, bad("TimeInMeshQuantum")},
		{"TimeInMeshQuantum negative", atomicMode, func(tp *TP) { tp.TimeInMeshQuantum = -time.Second }, bad("TimeInMeshQuantum")},
		{"TimeInMeshQuantum negative, weight off", atomicMode, func(tp *TP) { tp.TimeInMeshWeight, tp.TimeInMeshQuantum = 0, -time.Second }, ok},
		{"TimeInMeshQuantum one ns", atomicMode, func(tp *TP) { tp.TimeInMeshQuantum = 1 }, ok},
		{"TimeInMeshQuantum zero skip", skipMode, func(tp *TP) { tp.TimeInMeshQuantum = 0 }, bad("TimeInMeshQuantum")},
		{"TimeInMeshCap zero", atomicMode, func(tp *TP) { tp.TimeInMeshCap = 0 }, bad("TimeInMeshCap")},
		{"TimeInMeshCap negative", atomicMode, func(tp *TP) { tp.TimeInMeshCap = -1 }, bad("TimeInMeshCap")},
		{"TimeInMeshCap zero, weight off", atomicMode, func(tp *TP) { tp.TimeInMeshWeight, tp.TimeInMeshCap = 0, 0 }, ok},
		{"TimeInMeshCap NaN, weight off", atomicMode, func(tp *TP) { tp.TimeInMeshWeight, tp.TimeInMeshCap = 0, nan }, ok},
		{"TimeInMeshCap zero skip", skipMode, func(tp *TP) { tp.TimeInMeshCap = 0 }, bad("TimeInMeshCap")},
		{"TimeInMesh group zero skip", skipMode, func(tp *TP) { tp.TimeInMeshWeight, tp.TimeInMeshQuantum, tp.TimeInMeshCap = 0, 0, 0 }, ok},
		{"TimeInMesh only cap skip", skipMode, func(tp *TP) { tp.TimeInMeshWeight, tp.TimeInMeshQuantum = 0, 0 }, bad("TimeInMeshQuantum")},

		{"FirstMessageDeliveriesWeight zero", atomicMode, func(tp *TP) { tp.FirstMessageDeliveriesWeight = 0 }, ok},
		{"FirstMessageDeliveriesWeight negative", atomicMode, func(tp *TP) { tp.FirstMessageDeliveriesWeight = -1 }, bad("FirstMessageDeliveriesWeight")},
		{"FirstMessageDeliveriesDecay zero", atomicMode, func(tp *TP) { tp.FirstMessageDeliveriesDecay = 0 }, bad("FirstMessageDeliveriesDecay")},
		{"FirstMessageDeliveriesDecay one", atomicMode, func(tp *TP) { tp.FirstMessageDeliveriesDecay = 1 }, bad("FirstMessageDeliveriesDecay")},
		{"FirstMessageDeliveriesCap zero", atomicMode, func(tp *TP) { tp.FirstMessageDeliveriesCap = 0 }, bad("FirstMessageDeliveriesCap")},
		{"FirstMessageDeliveriesCap negative", atomicMode, func(tp *TP) { tp.FirstMessageDeliveriesCap = -1 }, bad("FirstMessageDeliveriesCap")},
		{"FirstMessageDeliveries weight off, rest invalid", atomicMode, func(tp *TP) {
			tp.FirstMessageDeliveriesWeight, tp.FirstMessageDeliveriesDecay, tp.FirstMessageDeliveriesCap = 0, 5, -1
		}, ok},
		{"FirstMessageDeliveries weight off, rest not finite", atomicMode, func(tp *TP) {
			tp.FirstMessageDeliveriesWeight, tp.FirstMessageDeliveriesDecay, tp.FirstMessageDeliveriesCap = 0, nan, pInf
		}, ok},
		{"FirstMessageDeliveries group zero skip", skipMode, func(tp *TP) {
			tp.FirstMessageDeliveriesWeight, tp.FirstMessageDeliveriesDecay, tp.FirstMessageDeliveriesCap = 0, 0, 0
		}, ok},
		{"FirstMessageDeliveriesDecay zero skip", skipMode, func(tp *TP) { tp.FirstMessageDeliveriesDecay = 0 }, bad("FirstMessageDeliveriesDecay")},
		{"FirstMessageDeliveriesWeight negative skip", skipMode, func(tp *TP) { tp.FirstMessageDeliveriesWeight = -1 }, bad("FirstMessageDeliveriesWeight")},

		{"MeshMessageDeliveriesWeight zero", atomicMode, func(tp *TP) { tp.MeshMessageDeliveriesWeight = 0 }, ok},
		{"MeshMessageDeliveriesWeight positive", atomicMode, func(tp *TP) { tp.MeshMessageDeliveriesWeight = 1 }, bad("MeshMessageDeliveriesWeight")},
		{"MeshMessageDeliveriesDecay zero", atomicMode, func(tp *TP) { tp.MeshMessageDeliveriesDecay = 0 }, bad("MeshMessageDeliveriesDecay")},
		{"MeshMessageDeliveriesDecay one", atomicMode, func(tp *TP) { tp.MeshMessageDeliveriesDecay = 1 }, bad("MeshMessageDeliveriesDecay")},
		{"MeshMessageDeliveriesCap zero", atomicMode, func(tp *TP) { tp.MeshMessageDeliveriesCap = 0 }, bad("MeshMessageDeliveriesCap")},
		{"MeshMessageDeliveriesThreshold zero", atomicMode, func(tp *TP) { tp.MeshMessageDeliveriesThreshold = 0 }, bad("MeshMessageDeliveriesThreshold")},
		{"MeshMessageDeliveriesThreshold negative", atomicMode, func(tp *TP) { tp.MeshMessageDeliveriesThreshold = -1 }, bad("MeshMessageDeliveriesThreshold")},
		{"MeshMessageDeliveriesWindow zero", atomicMode, func(tp *TP) { tp.MeshMessageDeliveriesWindow = 0 }, ok},
		{"MeshMessageDeliveriesWindow negative", atomicMode, func(tp *TP) { tp.MeshMessageDeliveriesWindow = -1 }, bad("MeshMessageDeliveriesWindow")},
		{"MeshMessageDeliveriesWindow negative, weight off", atomicMode, func(tp *TP) { tp.MeshMessageDeliveriesWeight, tp.MeshMessageDeliveriesWindow = 0, -1 }, bad("MeshMessageDeliveriesWindow")},
		{"MeshMessageDeliveriesActivation 1s", atomicMode, func(tp *TP) { tp.MeshMessageDeliveriesActivation = time.Second }, ok},
		{"MeshMessageDeliveriesActivation below 1s", atomicMode, func(tp *TP) { tp.MeshMessageDeliveriesActivation = time.Second - 1 }, bad("MeshMessageDeliveriesActivation")},
		{"MeshMessageDeliveriesActivation zero", atomicMode, func(tp *TP) { tp.MeshMessageDeliveriesActivation = 0 }, bad("MeshMessageDeliveriesActivation")},
		{"MeshMessageDeliveries weight off, rest invalid", atomicMode, func(tp *TP) {
			tp.MeshMessageDeliveriesWeight, tp.MeshMessageDeliveriesDecay, tp.MeshMessageDeliveriesCap = 0, 5, -1
			tp.MeshMessageDeliveriesThreshold, tp.MeshMessageDeliveriesActivation = -1, 0
		}, ok},
		{"MeshMessageDeliveries weight off, rest not finite", atomicMode, func(tp *TP) {
			tp.MeshMessageDeliveriesWeight, tp.MeshMessageDeliveriesDecay, tp.MeshMessageDeliveriesCap = 0, nan, nInf
			tp.MeshMessageDeliveriesThreshold = pInf
		}, ok},
		{"MeshMessageDeliveries group zero skip", skipMode, func(tp *TP) { zeroMeshDeliveries(tp) }, ok},
		{"MeshMessageDeliveries only window negative skip", skipMode, func(tp *TP) { zeroMeshDeliveries(tp); tp.MeshMessageDeliveriesWindow = -1 }, bad("MeshMessageDeliveriesWindow")},
		{"MeshMessageDeliveries only activation skip", skipMode, func(tp *TP) { zeroMeshDeliveries(tp); tp.MeshMessageDeliveriesActivation = time.Millisecond }, ok},
		{"MeshMessageDeliveriesActivation zero skip", skipMode, func(tp *TP) { tp.MeshMessageDeliveriesActivation = 0 }, bad("MeshMessageDeliveriesActivation")},
		{"MeshMessageDeliveriesThreshold zero skip", skipMode, func(tp *TP) { tp.MeshMessageDeliveriesThreshold = 0 }, bad("MeshMessageDeliveriesThreshold")},

		{"MeshFailurePenaltyWeight zero", atomicMode, func(tp *TP) { tp.MeshFailurePenaltyWeight = 0 }, ok},
		{"MeshFailurePenaltyWeight positive", atomicMode, func(tp *TP) { tp.MeshFailurePenaltyWeight = 1 }, bad("MeshFailurePenaltyWeight")},
		{"MeshFailurePenaltyDecay zero", atomicMode, func(tp *TP) { tp.MeshFailurePenaltyDecay = 0 }, bad("MeshFailurePenaltyDecay")},
		{"MeshFailurePenaltyDecay one", atomicMode, func(tp *TP) { tp.MeshFailurePenaltyDecay = 1 }, bad("MeshFailurePenaltyDecay")},
		{"MeshFailurePenaltyDecay ignored, weight off", atomicMode, func(tp *TP) { tp.MeshFailurePenaltyWeight, tp.MeshFailurePenaltyDecay = 0, 5 }, ok},
		{"MeshFailurePenaltyDecay NaN ignored, weight off", atomicMode, func(tp *TP) { tp.MeshFailurePenaltyWeight, tp.MeshFailurePenaltyDecay = 0, nan }, ok},
		{"MeshFailurePenalty group zero skip", skipMode, func(tp *TP) { tp.MeshFailurePenaltyWeight, tp.MeshFailurePenaltyDecay = 0, 0 }, ok},
		{"MeshFailurePenaltyDecay ignored, weight off skip", skipMode, func(tp *TP) { tp.MeshFailurePenaltyWeight, tp.MeshFailurePenaltyDecay = 0, 5 }, ok},
		{"MeshFailurePenaltyDecay zero skip", skipMode, func(tp *TP) { tp.MeshFailurePenaltyDecay = 0 }, bad("MeshFailurePenaltyDecay")},

		{"InvalidMessageDeliveriesWeight zero", atomicMode, func(tp *TP) { tp.InvalidMessageDeliveriesWeight = 0 }, ok},
		{"InvalidMessageDeliveriesWeight positive", atomicMode, func(tp *TP) { tp.InvalidMessageDeliveriesWeight = 1 }, bad("InvalidMessageDeliveriesWeight")},
		{"InvalidMessageDeliveriesDecay zero", atomicMode, func(tp *TP) { tp.InvalidMessageDeliveriesDecay = 0 }, bad("InvalidMessageDeliveriesDecay")},
		{"InvalidMessageDeliveriesDecay zero, weight off", atomicMode, func(tp *TP) { tp.InvalidMessageDeliveriesWeight, tp.InvalidMessageDeliveriesDecay = 0, 0 }, bad("InvalidMessageDeliveriesDecay")},
		{"InvalidMessageDeliveriesDecay one", atomicMode, func(tp *TP) { tp.InvalidMessageDeliveriesDecay = 1 }, bad("InvalidMessageDeliveriesDecay")},
		{"InvalidMessageDeliveries group zero skip", skipMode, func(tp *TP) { tp.InvalidMessageDeliveriesWeight, tp.InvalidMessageDeliveriesDecay = 0, 0 }, ok},
		{"InvalidMessageDeliveriesDecay checked, weight off skip", skipMode, func(tp *TP) { tp.InvalidMessageDeliveriesWeight, tp.InvalidMessageDeliveriesDecay = 0, 5 }, bad("InvalidMessageDeliveriesDecay")},
		{"InvalidMessageDeliveriesDecay zero skip", skipMode, func(tp *TP) { tp.InvalidMessageDeliveriesDecay = 0 }, bad("InvalidMessageDeliveriesDecay")},
	}
	return append(rows, nonFinite[TP](bad, "TopicWeight", "TimeInMeshWeight", "TimeInMeshCap",
		"FirstMessageDeliveriesWeight", "FirstMessageDeliveriesDecay", "FirstMessageDeliveriesCap",
		"MeshMessageDeliveriesWeight", "MeshMessageDeliveriesDecay", "MeshMessageDeliveriesCap", "MeshMessageDeliveriesThreshold",
		"MeshFailurePenaltyWeight", "MeshFailurePenaltyDecay",
		"InvalidMessageDeliveriesWeight", "InvalidMessageDeliveriesDecay")...)
}

func zeroMeshDeliveries(tp *TP) {
	tp.MeshMessageDeliveriesWeight, tp.MeshMessageDeliveriesDecay, tp.MeshMessageDeliveriesCap = 0, 0, 0
	tp.MeshMessageDeliveriesThreshold, tp.MeshMessageDeliveriesWindow, tp.MeshMessageDeliveriesActivation = 0, 0, 0
}

type TH = peerscore.Thresholds

func thresholdsRows() []thresholdsRow {
	rows := []thresholdsRow{
		{"base", atomicMode, func(*TH) {}, ok},
		{"base skip", skipMode, func(*TH) {}, ok},
		{"all zero", atomicMode, func(th *TH) { *th = TH{} }, ok},
		{"all zero skip", skipMode, func(th *TH) { *th = TH{SkipAtomicValidation: true} }, ok},

		{"GossipThreshold zero", atomicMode, func(th *TH) { th.GossipThreshold = 0 }, ok},
		{"GossipThreshold positive", atomicMode, func(th *TH) { th.GossipThreshold = 1 }, bad("GossipThreshold")},
		{"GossipThreshold below publish", atomicMode, func(th *TH) { th.GossipThreshold = -100 }, bad("PublishThreshold")},
		{"GossipThreshold zero skip", skipMode, func(th *TH) { th.GossipThreshold = 0 }, ok},
		{"GossipThreshold NaN skip", skipMode, func(th *TH) { th.GossipThreshold = nan }, bad("GossipThreshold")},
		{"PublishThreshold equal to gossip", atomicMode, func(th *TH) { th.PublishThreshold = -10 }, ok},
		{"PublishThreshold above gossip", atomicMode, func(th *TH) { th.PublishThreshold = -5 }, bad("PublishThreshold")},
		{"PublishThreshold zero", atomicMode, func(th *TH) { th.PublishThreshold = 0 }, bad("PublishThreshold")},
		{"PublishThreshold positive", atomicMode, func(th *TH) { th.GossipThreshold, th.PublishThreshold = 0, 1 }, bad("PublishThreshold")},
		{"PublishThreshold zero skip", skipMode, func(th *TH) { th.PublishThreshold = 0 }, bad("PublishThreshold")},
		{"GraylistThreshold equal to publish", atomicMode, func(th *TH) { th.GraylistThreshold = -50 }, ok},
		{"GraylistThreshold above publish", atomicMode, func(th *TH) { th.GraylistThreshold = -40 }, bad("GraylistThreshold")},
		{"GraylistThreshold zero skip", skipMode, func(th *TH) { th.GraylistThreshold = 0 }, bad("GraylistThreshold")},
		{"score levels zero skip", skipMode, func(th *TH) { th.GossipThreshold, th.PublishThreshold, th.GraylistThreshold = 0, 0, 0 }, ok},
		{"only GraylistThreshold skip", skipMode, func(th *TH) { th.GossipThreshold, th.PublishThreshold, th.GraylistThreshold = 0, 0, -1 }, ok},
		{"only PublishThreshold skip", skipMode, func(th *TH) { th.GossipThreshold, th.PublishThreshold, th.GraylistThreshold = 0, -1, 0 }, bad("GraylistThreshold")},

		{"AcceptPXThreshold zero", atomicMode, func(th *TH) { th.AcceptPXThreshold = 0 }, ok},
		{"AcceptPXThreshold negative", atomicMode, func(th *TH) { th.AcceptPXThreshold = -1 }, bad("AcceptPXThreshold")},
		{"AcceptPXThreshold zero skip", skipMode, func(th *TH) { th.AcceptPXThreshold = 0 }, ok},
		{"AcceptPXThreshold negative skip", skipMode, func(th *TH) { th.AcceptPXThreshold = -1 }, bad("AcceptPXThreshold")},
		{"AcceptPXThreshold NaN skip", skipMode, func(th *TH) { th.AcceptPXThreshold = nan }, bad("AcceptPXThreshold")},

		{"OpportunisticGraftThreshold zero", atomicMode, func(th *TH) { th.OpportunisticGraftThreshold = 0 }, ok},
		{"OpportunisticGraftThreshold large", atomicMode, func(th *TH) { th.OpportunisticGraftThreshold = 1e3 }, ok},
		{"OpportunisticGraftThreshold negative", atomicMode, func(th *TH) { th.OpportunisticGraftThreshold = -1 }, bad("OpportunisticGraftThreshold")},
		{"OpportunisticGraftThreshold zero skip", skipMode, func(th *TH) { th.OpportunisticGraftThreshold = 0 }, ok},
		{"OpportunisticGraftThreshold negative skip", skipMode, func(th *TH) { th.OpportunisticGraftThreshold = -1 }, bad("OpportunisticGraftThreshold")},
	}
	return append(rows, nonFinite[TH](bad, "GossipThreshold", "PublishThreshold", "GraylistThreshold",
		"AcceptPXThreshold", "OpportunisticGraftThreshold")...)
}

// checkVerdict asserts that err is what want says, naming the field and, for
// topic parameters reached through Params.Validate, the topic.
func checkVerdict(t *testing.T, err error, want verdict, topic string) {
	t.Helper()
	if want.valid {
		require.NoError(t, err)
		return
	}
	require.Error(t, err)
	assert.ErrorIs(t, err, peerscore.ErrInvalidParams)
	var pe *peerscore.ParamError
	require.True(t, errors.As(err, &pe), "error %v is not a *ParamError", err)
	assert.Equal(t, want.field, pe.Field, "field named by %v", err)
	assert.Equal(t, topic, pe.Topic, "topic named by %v", err)
	assert.NotEmpty(t, pe.Rule)
}

// assertUnchanged compares two values by their Go syntax, which treats NaN
// as equal to itself (assert.Equal does not) and pointers by address.
func assertUnchanged(t *testing.T, before, after any) {
	t.Helper()
	assert.Equal(t, fmt.Sprintf("%#v", before), fmt.Sprintf("%#v", after), "Validate changed its receiver")
}

func TestParamsValidation(t *testing.T) {
	ps := newPubsubChecker(t)

	t.Run("Params", func(t *testing.T) {
		for _, r := range append(paramsRows(), slowPeerRows()...) {
			t.Run(r.name, func(t *testing.T) {
				p := scoretest.ValidParams(r.skip)
				r.set(p)
				before := *p
				checkVerdict(t, p.Validate(), r.want, "")
				assertUnchanged(t, before, *p)
				ps.check(t, r.want, p, scoretest.ValidThresholds(atomicMode))
			})
		}
	})

	t.Run("TopicParams", func(t *testing.T) {
		const topic = "attestations"
		for _, r := range topicRows() {
			t.Run(r.name, func(t *testing.T) {
				tp := scoretest.ValidTopic(r.skip)
				r.set(tp)
				before := *tp
				checkVerdict(t, tp.Validate(), r.want, "")

				p := scoretest.ValidParams(atomicMode)
				p.Topics[topic] = tp
				checkVerdict(t, p.Validate(), r.want, topic)
				assertUnchanged(t, before, *tp)
				ps.check(t, r.want, p, scoretest.ValidThresholds(atomicMode))
			})
		}
	})

	t.Run("Thresholds", func(t *testing.T) {
		for _, r := range thresholdsRows() {
			t.Run(r.name, func(t *testing.T) {
				th := scoretest.ValidThresholds(r.skip)
				r.set(th)
				before := *th
				checkVerdict(t, th.Validate(), r.want, "")
				assertUnchanged(t, before, *th)
				ps.check(t, r.want, scoretest.ValidParams(atomicMode), th)
			})
		}
	})
}

func TestParamsValidateNil(t *testing.T) {
	checkVerdict(t, (*peerscore.Params)(nil).Validate(), bad("Params"), "")
	checkVerdict(t, (*peerscore.TopicParams)(nil).Validate(), bad("TopicParams"), "")
	checkVerdict(t, (*peerscore.Thresholds)(nil).Validate(), bad("Thresholds"), "")

	// pubsub dereferences a nil topic and panics; ours names it.
	p := scoretest.ValidParams(atomicMode)
	p.Topics["void"] = nil
	checkVerdict(t, p.Validate(), bad("TopicParams"), "void")
}

// Pubsub fills a missing AppSpecificScore in skip mode; ours must not.
func TestParamsValidateKeepsAppSpecificScoreNil(t *testing.T) {
	p := scoretest.ValidParams(skipMode)
	p.AppSpecificScore = nil
	require.NoError(t, p.Validate())
	assert.Nil(t, p.AppSpecificScore)

	p.Topics = nil
	require.NoError(t, p.Validate())
	assert.Nil(t, p.AppSpecificScore)
	assert.Nil(t, p.Topics)
}

func TestParamsErrorMessages(t *testing.T) {
	p := scoretest.ValidParams(atomicMode)
	tp := scoretest.ValidTopic(atomicMode)
	tp.MeshMessageDeliveriesDecay = 2
	p.Topics["beacon_block"] = tp
	msg := p.Validate().Error()
	assert.Contains(t, msg, "beacon_block")
	assert.Contains(t, msg, "MeshMessageDeliveriesDecay")

	assert.Contains(t, tp.Validate().Error(), "MeshMessageDeliveriesDecay")

	p = scoretest.ValidParams(atomicMode)
	p.DecayToZero = 0
	assert.Contains(t, p.Validate().Error(), "DecayToZero")

	th := scoretest.ValidThresholds(atomicMode)
	th.GraylistThreshold = 1
	assert.Contains(t, th.Validate().Error(), "GraylistThreshold")
}

// pubsubChecker asks go-libp2p-pubsub v0.17.0 for its verdict on a
// configuration, through its public API: NewGossipSub with WithPeerScore
// returns the validation error. One mock host serves every call.
type pubsubChecker struct{ h host.Host }

func newPubsubChecker(t *testing.T) *pubsubChecker {
	t.Helper()
	mn := mocknet.New()
	t.Cleanup(func() { _ = mn.Close() })
	h, err := mn.GenPeer()
	require.NoError(t, err)
	return &pubsubChecker{h: h}
}

// verdict returns pubsub's error for p and th. Each call gets fresh pubsub
// copies (pubsub's validation writes into its argument) and its own context,
// cancelled on return, which stops whatever a successful call started.
func (c *pubsubChecker) verdict(p *peerscore.Params, th *peerscore.Thresholds) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := pubsub.NewGossipSub(ctx, c.h, pubsub.WithPeerScore(p.ToPubsub(), th.ToPubsub()))
	return err
}

// check asserts that pubsub agrees with want on p and th.
func (c *pubsubChecker) check(t *testing.T, want verdict, p *peerscore.Params, th *peerscore.Thresholds) {
	t.Helper()
	if want.noPubsub != "" {
		t.Logf("not put to pubsub: %s", want.noPubsub)
		return
	}
	if want.valid && p.DecayInterval <= 0 {
		// pubsub would accept and then panic in a background goroutine,
		// taking the whole test binary down.
		t.Fatalf("row accepted with DecayInterval %v must carry ownRule(tickerPanic)", p.DecayInterval)
	}
	err := c.verdict(p, th)
	if want.valid {
		assert.NoError(t, err, "pubsub rejects what we accept")
	} else {
		assert.Error(t, err, "pubsub accepts what we reject (%s)", want.field)
	}
}

func TestParamsPubsubMutatesOnlyItsCopy(t *testing.T) {
	ps := newPubsubChecker(t)
	p := scoretest.ValidParams(skipMode)
	p.AppSpecificScore = nil
	require.NoError(t, ps.verdict(p, scoretest.ValidThresholds(atomicMode)))
	assert.Nil(t, p.AppSpecificScore)
}

// TestSlowWriteThresholdValidation: a negative threshold is rejected with
// the field named, in both modes and with the rest of the slow-peer group
// off; New refuses it and changes nothing.
func TestSlowWriteThresholdValidation(t *testing.T) {
	for _, skip := range []bool{false, true} {
		p := scoretest.ValidParams(skip)
		p.SlowPeerWriteThreshold = -time.Nanosecond
		err := p.Validate()
		var pe *peerscore.ParamError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "SlowPeerWriteThreshold", pe.Field)
		assert.ErrorIs(t, err, peerscore.ErrInvalidParams)

		p.SlowPeerWeight, p.SlowPeerThreshold, p.SlowPeerDecay = 0, 0, 0
		require.ErrorAs(t, p.Validate(), &pe, "checked with the rest of the group off")
		assert.Equal(t, "SlowPeerWriteThreshold", pe.Field)

		s, err := peerscore.New(p)
		assert.Nil(t, s)
		require.ErrorAs(t, err, &pe)
	}
}
