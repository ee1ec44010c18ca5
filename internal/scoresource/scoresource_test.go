package scoresource_test

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/internal/scoresource"
)

type ptrScorer struct{}

func (*ptrScorer) Score(peer.ID) float64 { return 1 }

type mapScorer map[peer.ID]float64

func (m mapScorer) Score(p peer.ID) float64 { return m[p] }

type valueScorer struct{}

func (valueScorer) Score(peer.ID) float64 { return 2 }

func TestFuncScore(t *testing.T) {
	f := scoresource.Func(func(p peer.ID) float64 { return float64(len(p)) })
	require.Equal(t, 3.0, f.Score("abc"))
}

func TestIsNil(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    scoresource.Scorer
		nil  bool
	}{
		{"nil interface", nil, true},
		{"nil Func", scoresource.Func(nil), true},
		{"nil pointer", (*ptrScorer)(nil), true},
		{"nil map", mapScorer(nil), true},
		{"Func", scoresource.Func(func(peer.ID) float64 { return 0 }), false},
		{"pointer", &ptrScorer{}, false},
		{"empty map", mapScorer{}, false},
		{"value", valueScorer{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.nil, scoresource.IsNil(tc.s))
		})
	}
}

func TestCheckArgs(t *testing.T) {
	h := mocknet.New()
	t.Cleanup(func() { _ = h.Close() })
	host, err := h.GenPeer()
	require.NoError(t, err)
	f := scoresource.Func(func(peer.ID) float64 { return 0 })
	require.NoError(t, scoresource.CheckArgs("p", "NewX", host, f))
	require.EqualError(t, scoresource.CheckArgs("p", "NewX", nil, f), "p: NewX: nil host")
	require.EqualError(t, scoresource.CheckArgs("p", "NewX", host, scoresource.Func(nil)), "p: NewX: nil Scorer")
	require.EqualError(t, scoresource.CheckArgs("p", "NewX", nil, nil), "p: NewX: nil host", "the host first")
}
