package ethereum_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/derive"
	"github.com/peerscore/peerscore/preset/ethereum"
)

var testDigest = [4]byte{0x01, 0x02, 0x03, 0x04} // Teku's and Lodestar's test digest

// tekuPreset is the chain of Teku's mature-chain test: phase0 topics only.
func tekuPreset() ethereum.Preset {
	return ethereum.Preset{
		ActiveValidators:            16384,
		SlotDuration:                12 * time.Second,
		SlotsPerEpoch:               32,
		CurrentSlot:                 10_000,
		ForkDigests:                 [][4]byte{testDigest},
		ExcludeSyncCommittee:        true,
		ExcludeBLSToExecutionChange: true,
	}
}

func derivePreset(t *testing.T, e ethereum.Preset) (*peerscore.Params, *peerscore.Thresholds) {
	t.Helper()
	p, th, err := e.Derive()
	require.NoError(t, err)
	require.NoError(t, p.Validate())
	require.NoError(t, th.Validate())
	return p, th
}

func topicOf(t *testing.T, p *peerscore.Params, name string) *peerscore.TopicParams {
	t.Helper()
	tp := p.Topics[ethereum.Topic(testDigest, name)]
	require.NotNil(t, tp, name)
	return tp
}

// The topics Teku and Lighthouse leave unscored: sync committee subnets and
// contributions (Prysm's weights), and BLS-to-execution-changes, derived by
// the same method. With every topic the budget is
// (10 + 40) · (2.15 + 0.4 + 0.2 + 0.05) = 140.
func TestPresetAllTopics(t *testing.T) {
	e := tekuPreset()
	e.ExcludeSyncCommittee = false
	e.ExcludeBLSToExecutionChange = false
	p, _ := derivePreset(t, e)
	assert.Len(t, p.Topics, 5+64+4+1+1)
	assert.InDelta(t, 70, p.TopicScoreCap, 1e-9) // 140 / 2

	// First decay one epoch: 0.8659643.
	for i := range ethereum.SyncCommitteeSubnetCount {
		sync := topicOf(t, p, ethereum.SyncCommitteeSubnet(i))
		// Weight 0.4 / 4 = 0.1; 512 / 4 = 128 messages per slot;
		// cap = (2 · 128 / 8) / 0.1340357 = 238.7424; weight 40 / 238.7424 = 0.1675446;
		// invalid −140 / 0.1 = −1400; no P3.
		assert.InDelta(t, 0.1, sync.TopicWeight, 1e-12)
		assert.InDelta(t, 238.7424, sync.FirstMessageDeliveriesCap, 1e-4)
		assert.InDelta(t, 0.1675446, sync.FirstMessageDeliveriesWeight, 1e-7)
		assert.InDelta(t, -1400, sync.InvalidMessageDeliveriesWeight, 1e-9)
		assert.Zero(t, sync.MeshMessageDeliveriesWeight)
	}
	contrib := topicOf(t, p, ethereum.SyncCommitteeContributionAndProof)
	// 4 subnets · 16 aggregators = 64 per slot: the aggregate topic's
	// numbers at 16384 validators, cap 119.3712; invalid −140 / 0.2 = −700.
	assert.InDelta(t, 119.3712, contrib.FirstMessageDeliveriesCap, refTolerance)
	assert.InDelta(t, -700, contrib.InvalidMessageDeliveriesWeight, 1e-9)
	bls := topicOf(t, p, ethereum.BLSToExecutionChange)
	// As voluntary exits (4 per epoch, 100 epochs): cap 21.73035;
	// invalid −140 / 0.05 = −2800.
	assert.InDelta(t, 21.73035, bls.FirstMessageDeliveriesCap, refTolerance)
	assert.InDelta(t, -2800, bls.InvalidMessageDeliveriesWeight, 1e-9)

	// Fewer validators than sync committee seats: min(V, 512) / 4.
	e.ActiveValidators = 200
	p, _ = derivePreset(t, e)
	// 200 / 4 = 50 per slot; cap (2 · 50 / 8) / 0.1340357 = 93.2588.
	assert.InDelta(t, 93.2588, topicOf(t, p, ethereum.SyncCommitteeSubnet(0)).FirstMessageDeliveriesCap, 1e-4)
}

func TestPresetMeshPenaltyOff(t *testing.T) {
	e := tekuPreset()
	e.MeshPenalty = ethereum.MeshPenaltyOff
	p, _ := derivePreset(t, e)
	for name, tp := range p.Topics {
		assert.Zero(t, tp.MeshMessageDeliveriesWeight, name)
		assert.Zero(t, tp.MeshFailurePenaltyWeight, name)
	}
}

func TestCommitteesAndAggregators(t *testing.T) {
	tests := []struct {
		validators, spe int
		committees      int
		aggregators     float64
	}{
		// 1 validator: one committee per slot, 32 per epoch, 31 empty and
		// one of size 1 with modulus 1: 1 aggregate per epoch, 1/32 per slot.
		{1, 32, 1, 1.0 / 32},
		// 16384 / 32 / 128 = 4 per slot; 128 committees of 128, modulus 8:
		// 16 aggregators each, 128 · 16 / 32 = 64 per slot.
		{16384, 32, 4, 64},
		// 100000 / 32 / 128 = 24; 768 committees; 100000 / 768 = 130 (130 ·
		// 768 = 99840), 160 of 131 and 608 of 130, both modulus 8:
		// (608·130 + 160·131) / 8 / 32 = 100000 / 256 = 390.625.
		{100_000, 32, 24, 390.625},
		// 1000000: 64 per slot, 2048 committees, 488 (999424) so 576 of 489
		// and 1472 of 488, moduli 30 and 30: 1000000 / 30 / 32 = 1041.667.
		{1_000_000, 32, 64, 1_000_000.0 / 30 / 32},
		// Gnosis (16 slots per epoch), 300000: 300000 / 16 / 128 = 146 →
		// 64; 1024 committees; 292 (299008), 992 of 293 and 32 of 292,
		// moduli 18 and 18: 300000 / 18 / 16 = 1041.667.
		{300_000, 16, 64, 300_000.0 / 18 / 16},
	}
	for _, tt := range tests {
		e := ethereum.Preset{ActiveValidators: tt.validators, SlotsPerEpoch: tt.spe}
		assert.Equal(t, tt.committees, e.CommitteesPerSlot(), tt.validators)
		assert.InDelta(t, tt.aggregators, e.AggregatorsPerSlot(), 1e-9, tt.validators)
	}
}

// Every derived result passes Validate, across chain sizes and slot
// timings, with and without mesh-delivery scoring.
func TestPresetValidAcrossChains(t *testing.T) {
	for _, validators := range []int{1, 100, 1_000, 16_384, 100_000, 262_144, 500_000, 1_000_000, 2_000_000, 10_000_000} {
		for _, timing := range []struct {
			slot time.Duration
			spe  int
		}{{12 * time.Second, 32}, {5 * time.Second, 16}, {6 * time.Second, 32}, {2 * time.Second, 8}, {500 * time.Millisecond, 32}, {time.Second, 4}} {
			for _, penalty := range []ethereum.MeshPenalty{ethereum.MeshPenaltyFull, ethereum.MeshPenaltyMild, ethereum.MeshPenaltyOff} {
				for _, slot := range []uint64{0, 100, 1 << 40} {
					e := ethereum.Preset{
						ActiveValidators: validators,
						SlotDuration:     timing.slot,
						SlotsPerEpoch:    timing.spe,
						CurrentSlot:      slot,
						ForkDigests:      [][4]byte{testDigest, {0xff, 0, 0, 1}},
						MeshPenalty:      penalty,
					}
					name := fmt.Sprintf("%d validators, %v×%d, %v, slot %d", validators, timing.slot, timing.spe, penalty, slot)
					p, th, err := e.Derive()
					require.NoError(t, err, name)
					require.NoError(t, p.Validate(), name)
					require.NoError(t, th.Validate(), name)
					// Every topic under both digests.
					require.Len(t, p.Topics, 2*(5+64+4+1+1), name)
					for topic, tp := range p.Topics {
						require.NoError(t, tp.Validate(), "%s: %s", name, topic)
					}
				}
			}
		}
	}
}

// A second fork digest adds the topics again but does not grow the budget:
// a peer is on one digest's topics at a time (both only around a fork).
func TestPresetTwoDigests(t *testing.T) {
	e := tekuPreset()
	e.ForkDigests = append(e.ForkDigests, [4]byte{0xaa, 0xbb, 0xcc, 0xdd})
	p, _ := derivePreset(t, e)
	assert.Len(t, p.Topics, 2*(5+64))
	assert.InDelta(t, 53.75, p.TopicScoreCap, refTolerance)
	next := p.Topics["/eth2/aabbccdd/beacon_block/ssz_snappy"]
	require.NotNil(t, next)
	assert.Equal(t, *topicOf(t, p, ethereum.BeaconBlock), *next)
}

func TestPresetTopicParams(t *testing.T) {
	e := tekuPreset()
	p, _ := derivePreset(t, e)
	e.ForkDigests = nil // not needed for one topic
	for _, name := range []string{ethereum.BeaconBlock, ethereum.AttestationSubnet(5), ethereum.VoluntaryExit} {
		tp, err := e.TopicParams(name)
		require.NoError(t, err, name)
		assert.Equal(t, *topicOf(t, p, name), *tp, name)
	}
	_, err := e.TopicParams(ethereum.SyncCommitteeSubnet(0)) // excluded in this preset
	assert.ErrorIs(t, err, peerscore.ErrInvalidParams)
	_, err = e.TopicParams("blob_sidecar_0")
	assert.ErrorIs(t, err, peerscore.ErrInvalidParams)
	assert.EqualError(t, err, `peerscore/ethereum: TopicParams: the preset does not score topic "blob_sidecar_0"`)

	e.ActiveValidators = 0
	_, err = e.TopicParams(ethereum.BeaconBlock)
	assert.EqualError(t, err, "peerscore/ethereum: Preset.ActiveValidators = 0: must be at least 1")
}

func TestPresetSpecsRoundTrip(t *testing.T) {
	e := tekuPreset()
	specs, budget, err := e.Specs()
	require.NoError(t, err)
	assert.InDelta(t, 107.5, budget.MaxPositiveScore, 1e-9)
	viaSpecs, _, err := derive.Params(specs, budget)
	require.NoError(t, err)
	direct, _ := derivePreset(t, e)
	require.Equal(t, len(direct.Topics), len(viaSpecs.Topics))
	for name, tp := range direct.Topics {
		assert.Equal(t, *tp, *viaSpecs.Topics[name], name)
	}
}

func TestPresetDefaults(t *testing.T) {
	// Only the validator count and a digest: mainnet timing, D = 8, 2s
	// window, 3 per IP, every topic.
	p, _ := derivePreset(t, ethereum.Preset{ActiveValidators: 16384, CurrentSlot: 10_000, ForkDigests: [][4]byte{testDigest}})
	assert.Equal(t, 12*time.Second, p.DecayInterval)
	assert.Equal(t, 3, p.IPColocationFactorThreshold)
	assert.Len(t, p.Topics, 75)
	block := topicOf(t, p, ethereum.BeaconBlock)
	assert.Equal(t, 2*time.Second, block.MeshMessageDeliveriesWindow)
	assert.InDelta(t, 34.8687, block.FirstMessageDeliveriesCap, refTolerance) // D = 8
	assert.Zero(t, p.AppSpecificScore("anyone"))
}

func TestPresetErrors(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*ethereum.Preset)
		field string
	}{
		{"no validators", func(e *ethereum.Preset) { e.ActiveValidators = 0 }, "Preset.ActiveValidators"},
		{"no digest", func(e *ethereum.Preset) { e.ForkDigests = nil }, "Preset.ForkDigests"},
		{"negative slot", func(e *ethereum.Preset) { e.SlotDuration = -time.Second }, "Preset.SlotDuration"},
		{"negative epoch", func(e *ethereum.Preset) { e.SlotsPerEpoch = -1 }, "Preset.SlotsPerEpoch"},
		{"bad mesh penalty", func(e *ethereum.Preset) { e.MeshPenalty = 7 }, "Preset.MeshPenalty"},
		// A 10ms slot makes a 320ms epoch, shorter than the 1s decay interval
		// that a one-epoch first-delivery window must span.
		{"tiny slots", func(e *ethereum.Preset) { e.SlotDuration = 10 * time.Millisecond }, "Topic.FirstDeliveriesDecay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tekuPreset()
			tt.edit(&e)
			_, _, err := e.Derive()
			require.Error(t, err)
			assert.ErrorIs(t, err, peerscore.ErrInvalidParams)
			var pe *peerscore.ParamError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.field, pe.Field, err.Error())
			// One prefix, this package's, also for what package derive
			// found in the specs the preset built.
			assert.True(t, strings.HasPrefix(err.Error(), "peerscore/ethereum: "), err.Error())
			assert.NotContains(t, err.Error(), "peerscore/derive")
			assert.NotContains(t, err.Error(), "peerscore: ")
		})
	}
}
