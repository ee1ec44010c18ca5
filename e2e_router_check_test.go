package peerscore_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scenario"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/metrics"
)

// The router check against real GossipSub routers: quiet while the router
// is wired as GossipSubOptions wires it, loud within one check period when
// Topic.SetScoreParams arms the router's own scorer or a later
// pubsub.WithPeerScore replaces it.

const checkPeriod = 2 * time.Second

// checkLogs collects every scorer's log, one buffer per test.
type checkLogs struct {
	peerscore.LogBufferForTest
}

// errors returns the ERROR lines logged so far.
func (l *checkLogs) errors() []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.Contains(line, "level=ERROR") {
			out = append(out, line)
		}
	}
	return out
}

// checkNet is an honest ring whose scorers check their routers every
// checkPeriod and log to logs.
func checkNet(t *testing.T) (*e2eNet, *checkLogs) {
	n := newE2ENet(t, false)
	logs := &checkLogs{}
	n.scorerOpts = []peerscore.Option{
		peerscore.WithRouterCheck(checkPeriod),
		peerscore.WithLogger(slog.New(slog.NewTextHandler(logs, nil))),
	}
	return n, logs
}

func routerMismatches(nodes []*e2eNode) map[string]uint64 {
	out := map[string]uint64{}
	for _, node := range nodes {
		if m := node.scorer.Stats().RouterMismatches; m > 0 {
			out[node.name] = m
		}
	}
	return out
}

// mismatchMetric is peerscore_router_mismatches_total as s's metrics
// export it.
func mismatchMetric(t *testing.T, s *peerscore.Scorer) float64 {
	t.Helper()
	c, err := metrics.New(s)
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	return scoretest.Gather(t, reg).Value(t, "peerscore_router_mismatches_total")
}

// TestE2ERouterCheckQuietWhenWired: routers wired by GossipSubOptions, with
// honest traffic over several check periods: no mismatch, no error, and
// every router has asked for peerscore's score (the "never asked" check is
// satisfied, not merely silent).
func TestE2ERouterCheckQuietWhenWired(t *testing.T) {
	e2eTest(t, func(t *testing.T) {
		n, logs := checkNet(t)
		honest := n.honestRing(8)
		stop := n.backgroundTraffic(honest, 100*time.Millisecond)
		time.Sleep(5 * checkPeriod)
		stop()
		assert.Empty(t, routerMismatches(honest))
		assert.Empty(t, logs.errors())
		for _, node := range honest {
			assert.True(t, peerscore.RouterAskedForTest(node.scorer), "%s's router never asked", node.name)
		}
	})
}

// TestE2ERouterCheckSetScoreParams: Topic.SetScoreParams with real weights
// on a router wired with peerscore is reported by that node within one
// check period: an Error naming the likely cause, Stats and the metric.
// The other nodes stay quiet.
func TestE2ERouterCheckSetScoreParams(t *testing.T) {
	e2eTest(t, func(t *testing.T) {
		n, logs := checkNet(t)
		honest := n.honestRing(8)
		stop := n.backgroundTraffic(honest, 100*time.Millisecond)
		defer stop()
		time.Sleep(2 * checkPeriod)
		require.Empty(t, routerMismatches(honest), "wired correctly so far")

		culprit := honest[0]
		tp := scenario.Params().Topics[e2eTopic].ToPubsub()
		require.NoError(t, culprit.topic.SetScoreParams(tp), "pubsub accepts it: nothing stops the mistake")
		time.Sleep(checkPeriod + 200*time.Millisecond) // one period, and traffic to score in the topic

		assert.Equal(t, map[string]uint64{culprit.name: 1}, routerMismatches(honest))
		errs := logs.errors()
		require.Len(t, errs, 1)
		for _, want := range []string{"scores peers on its own", "Topic.SetScoreParams", "Scorer.SetTopicParams",
			"router_topics=[" + e2eTopic + "]"} {
			assert.Contains(t, errs[0], want)
		}
		assert.Equal(t, 1.0, mismatchMetric(t, culprit.scorer))

		time.Sleep(2 * checkPeriod)
		assert.GreaterOrEqual(t, culprit.scorer.Stats().RouterMismatches, uint64(3), "reported every period")
	})
}

// TestE2ERouterCheckLaterWithPeerScore: pubsub.WithPeerScore after
// GossipSubOptions' options replaces the router's scorer, and our
// inspection with it. The scorer finds out from its side within one check
// period of traffic: the router receives RPCs but never asks for its score.
// The replaced scorer still gets the router's traces and asks for a
// disconnecting peer's score; that must not pass for the router asking.
func TestE2ERouterCheckLaterWithPeerScore(t *testing.T) {
	e2eTest(t, func(t *testing.T) {
		n, logs := checkNet(t)
		lateHost := n.host("55.55.55.55", 8000)
		honest := n.honestRing(8)
		n.routerOpts = []pubsub.Option{pubsub.WithPeerScore(n.params.ToPubsub(), n.thr.ToPubsub())}
		late := n.router("late", lateHost, true, scenario.RejectBad)
		n.routerOpts = nil
		stop := n.backgroundTraffic(honest, 100*time.Millisecond)
		defer stop()
		n.connect(lateHost, honest[0].h)
		n.connect(lateHost, honest[4].h)
		time.Sleep(checkPeriod + 200*time.Millisecond)

		assert.Equal(t, map[string]uint64{late.name: 1}, routerMismatches(append(honest, late)))
		assert.False(t, peerscore.RouterAskedForTest(late.scorer))
		errs := logs.errors()
		require.Len(t, errs, 1)
		for _, want := range []string{"never asked for peerscore's score", "pubsub.WithPeerScore"} {
			assert.Contains(t, errs[0], want)
		}
		assert.Equal(t, 1.0, mismatchMetric(t, late.scorer))

		require.NoError(t, lateHost.Network().ClosePeer(honest[4].h.ID()))
		time.Sleep(checkPeriod)
		assert.False(t, peerscore.RouterAskedForTest(late.scorer), "the replaced scorer's ask at a disconnect")
		assert.Equal(t, uint64(2), late.scorer.Stats().RouterMismatches, "reported again the next period")
	})
}
