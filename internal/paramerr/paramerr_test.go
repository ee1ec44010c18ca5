package paramerr_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/errprefix"
	"github.com/peerscore/peerscore/internal/paramerr"
)

func TestNew(t *testing.T) {
	err := paramerr.New("peerscore/derive", "blocks", "Topic.MeshDegree", 0, "must be at least 1")
	assert.Equal(t, `peerscore/derive: topic "blocks": Topic.MeshDegree = 0: must be at least 1`, err.Error())
	assert.ErrorIs(t, err, peerscore.ErrInvalidParams)
	var pe *peerscore.ParamError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, peerscore.ParamError{Topic: "blocks", Field: "Topic.MeshDegree", Value: 0, Rule: "must be at least 1"}, *pe)

	global := paramerr.New("peerscore/ethereum", "", "Preset.ActiveValidators", 0, "must be at least 1")
	assert.Equal(t, "peerscore/ethereum: Preset.ActiveValidators = 0: must be at least 1", global.Error())
}

func TestWrap(t *testing.T) {
	rootErr := (&peerscore.Thresholds{GossipThreshold: 1}).Validate()
	require.Error(t, rootErr)
	require.Contains(t, rootErr.Error(), "peerscore: ")

	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil stays nil", nil, ""},
		// The root's own prefix is replaced, not stacked.
		{"root ParamError", rootErr, "peerscore/derive: GossipThreshold = 1: must be zero or negative and finite"},
		// Another sub-package's prefix is replaced too: one prefix, the
		// outermost package's.
		{"other package's", paramerr.New("peerscore/ethereum", "t", "F", 1, "rule"), `peerscore/derive: topic "t": F = 1: rule`},
		{"already ours", paramerr.New("peerscore/derive", "", "F", 1, "rule"), "peerscore/derive: F = 1: rule"},
		{"plain error", errors.New("boom"), "peerscore/derive: boom"},
		{"plain, marked as prefixed", errprefix.Mark("peerscore/derive", errors.New("peerscore/derive: boom")), "peerscore/derive: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := paramerr.Wrap("peerscore/derive", tt.err)
			if tt.err == nil {
				assert.NoError(t, got)
				return
			}
			assert.Equal(t, tt.want, got.Error())
			assert.ErrorIs(t, got, tt.err, "the original stays in the chain")
		})
	}
	// A wrapped ParamError still matches ErrInvalidParams and gives up
	// its fields.
	wrapped := paramerr.Wrap("peerscore/derive", rootErr)
	assert.ErrorIs(t, wrapped, peerscore.ErrInvalidParams)
	var pe *peerscore.ParamError
	require.ErrorAs(t, wrapped, &pe)
	assert.Equal(t, "GossipThreshold", pe.Field)
}
