package scoresource_test

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
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
