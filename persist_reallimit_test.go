//go:build !race

package peerscore_test

// The case at the real MaxStateSize, which takes too long under the
// race detector (the other limit tests lower it instead).

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// TestPersistSaveLoadAtRealLimit: 5,000 throw-away peers rejected once in
// each of 16 topics with names of a thousand bytes. Their state is about
// 90 MB, which Save used to write and Load refuse, so that a node
// following the start-up pattern did not start (75 topics named like
// Ethereum's and 5,000 peers come to the same). Save must now write at
// most MaxStateSize bytes, the worst peers, and Load accept them.
func TestPersistSaveLoadAtRealLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads 64 MiB")
	}
	params := scoretest.StateParams(time.Hour, nil)
	var topics []string
	for i := range 16 {
		name := fmt.Sprintf("/long/%02d/%s", i, strings.Repeat("n", 1000))
		topics = append(topics, name)
		params.Topics[name] = &peerscore.TopicParams{
			SkipAtomicValidation: true, TopicWeight: 1,
			InvalidMessageDeliveriesWeight: -1, InvalidMessageDeliveriesDecay: 0.5,
		}
	}
	s, log := scoretest.NewLogged(t, params)
	const peers = 5000
	for i := range peers {
		// ed25519 identity IDs, 52 characters as "12D3KooW...".
		p := peer.ID(fmt.Sprintf("\x00\x24\x08\x01\x12\x20throwaway-peer-key-%014d", i))
		s.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
		s.AddPenalty(p, 1+i%50) // distinct scores, to rank them
		for j, topic := range topics {
			scoretest.RejectN(s, topic, fmt.Sprintf("%d-%d", i, j), p, 1)
		}
		s.Tracer().OnClosedOutboundStream(p)
	}
	data := scoretest.Save(t, s)
	require.LessOrEqual(t, len(data), peerscore.MaxStateSizeForTest)
	left := log.Find(slog.LevelWarn, "left out")
	require.Len(t, left, 1)
	t.Logf("saved %d of %d peers in %d bytes", left[0]["saved"].Int64(), peers, len(data))

	restored, _ := scoretest.NewLogged(t, params)
	require.NoError(t, restored.Load(bytes.NewReader(data)))
	require.Equal(t, int(left[0]["saved"].Int64()), restored.Stats().Retained)
	for p, snap := range restored.Snapshots() {
		require.Equalf(t, s.Score(p), snap.Score, "%s", p)
	}
}
