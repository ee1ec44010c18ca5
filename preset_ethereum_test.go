package peerscore

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The reference numbers below come from the consensus clients' own tests:
//
//   - Teku: networking/eth2/src/test/java/tech/pegasys/teku/networking/eth2/
//     gossip/config/GossipScoringConfiguratorTest.java at commit
//     89da33a0d890555fe8dad7c486a01130397c9339 (Consensys/teku), tests
//     configure_preGenesis (global parameters) and
//     configureAllTopics_forMatureChain (topics), mainnet phase0 spec,
//     16384 active validators (MIN_GENESIS_ACTIVE_VALIDATOR_COUNT), current
//     slot 10000, tolerance 0.00005. Teku's GossipScoringConfigurator says
//     it follows Lighthouse's gossipsub_scoring_parameters.rs.
//   - Lodestar: packages/beacon-node/test/unit/network/gossip/
//     scoringParameters.test.ts at commit
//     03f1f65801c3e161394b8de2f248adacd91e3f4a (ChainSafe/lodestar), test
//     "for mature chain", same chain; Lodestar adds the BLS-to-execution-
//     change weight (0.05) to its budget and uses a 12s mesh delivery
//     window.
//
// Lighthouse publishes no numbers; its arithmetic
// (beacon_node/lighthouse_network/src/service/gossipsub_scoring_parameters.rs,
// sigp/lighthouse commit 1665bbfa23b20bad6fd0aad77cd9aea154dc15fa) is
// recomputed by hand in TestEthereumPresetLighthouseMainnet.

// refTolerance is the tolerance Teku's and Lodestar's tests use.
const refTolerance = 0.00005

var testDigest = [4]byte{0x01, 0x02, 0x03, 0x04} // Teku's and Lodestar's test digest

// tekuPreset is the chain of Teku's mature-chain test: phase0 topics only.
func tekuPreset() EthereumPreset {
	return EthereumPreset{
		ActiveValidators:            16384,
		SlotDuration:                12 * time.Second,
		SlotsPerEpoch:               32,
		CurrentSlot:                 10_000,
		ForkDigests:                 [][4]byte{testDigest},
		ExcludeSyncCommittee:        true,
		ExcludeBLSToExecutionChange: true,
	}
}

func derivePreset(t *testing.T, e EthereumPreset) (*Params, *Thresholds) {
	t.Helper()
	p, th, err := e.Derive()
	require.NoError(t, err)
	require.NoError(t, p.Validate())
	require.NoError(t, th.Validate())
	return p, th
}

func topicOf(t *testing.T, p *Params, name string) *TopicParams {
	t.Helper()
	tp := p.Topics[EthereumTopic(testDigest, name)]
	require.NotNil(t, tp, name)
	return tp
}

func TestEthereumTopicNames(t *testing.T) {
	assert.Equal(t, "/eth2/01020304/beacon_block/ssz_snappy", EthereumTopic(testDigest, EthereumBeaconBlock))
	assert.Equal(t, "/eth2/bba4da96/beacon_attestation_63/ssz_snappy",
		EthereumTopic([4]byte{0xbb, 0xa4, 0xda, 0x96}, EthereumAttestationSubnet(63)))
	assert.Equal(t, "sync_committee_3", EthereumSyncCommitteeSubnet(3))
}

func TestEthereumPresetTekuGlobal(t *testing.T) {
	p, th := derivePreset(t, tekuPreset())

	// Teku configure_preGenesis: thresholds.
	assert.Equal(t, -4000.0, th.GossipThreshold)
	assert.Equal(t, -8000.0, th.PublishThreshold)
	assert.Equal(t, -16000.0, th.GraylistThreshold)
	assert.Equal(t, 100.0, th.AcceptPXThreshold)
	assert.Equal(t, 5.0, th.OpportunisticGraftThreshold)

	// Teku configure_preGenesis: peer scoring.
	assert.InDelta(t, 53.75, p.TopicScoreCap, refTolerance)             // topicScoreCap
	assert.InDelta(t, -53.75, p.IPColocationFactorWeight, refTolerance) // ipColocationFactorWeight
	assert.Equal(t, 3, p.IPColocationFactorThreshold)                   // ipColocationFactorThreshold
	assert.InDelta(t, 0.9857, p.BehaviourPenaltyDecay, refTolerance)    // behaviourPenaltyDecay
	assert.InDelta(t, -15.8793, p.BehaviourPenaltyWeight, refTolerance) // behaviourPenaltyWeight
	assert.Equal(t, 6.0, p.BehaviourPenaltyThreshold)                   // behaviourPenaltyThreshold
	assert.Equal(t, 0.01, p.DecayToZero)                                // decayToZero
	assert.Equal(t, 12*time.Second, p.DecayInterval)                    // decayInterval 12s
	assert.Equal(t, 38400*time.Second, p.RetainScore)                   // retainScore 38400s

	// Teku: expectedCount = 5 + ATTESTATION_SUBNET_COUNT.
	assert.Len(t, p.Topics, 5+64)
}

func TestEthereumPresetTekuMatureChain(t *testing.T) {
	p, _ := derivePreset(t, tekuPreset())

	type want struct {
		weight, inMeshWeight, inMeshCap               float64
		firstWeight, firstDecay, firstCap             float64
		invalidWeight, invalidDecay                   float64
		meshDecay, meshCap, meshWeight, meshThreshold float64
		failureWeight, failureDecay                   float64
		activation, window                            time.Duration
	}
	// Every number is Teku's (file and commit above): validate…TopicParams
	// with penaltiesActive = true. Time in mesh: quantum 12s, cap 300,
	// weight 0.03333 for all topics.
	cases := map[string]want{
		// validateVoluntaryExitTopicParams.
		EthereumVoluntaryExit: {weight: 0.05, inMeshWeight: 0.03333, inMeshCap: 300,
			firstWeight: 1.8407, firstDecay: 0.99856, firstCap: 21.73035,
			invalidWeight: -2150.0, invalidDecay: 0.99713},
		// validateSlashingTopicParams, both slashing topics.
		EthereumProposerSlashing: {weight: 0.05, inMeshWeight: 0.03333, inMeshCap: 300,
			firstWeight: 36.81486, firstDecay: 0.998561, firstCap: 1.08652,
			invalidWeight: -2150.0, invalidDecay: 0.99713},
		EthereumAttesterSlashing: {weight: 0.05, inMeshWeight: 0.03333, inMeshCap: 300,
			firstWeight: 36.81486, firstDecay: 0.998561, firstCap: 1.08652,
			invalidWeight: -2150.0, invalidDecay: 0.99713},
		// validateAggregateTopicParams.
		EthereumBeaconAggregateAndProof: {weight: 0.5, inMeshWeight: 0.03333, inMeshCap: 300,
			firstWeight: 0.33509, firstDecay: 0.86596, firstCap: 119.3712,
			invalidWeight: -215.0, invalidDecay: 0.99713,
			meshDecay: 0.930572, meshCap: 68.6255, meshWeight: -0.7304, meshThreshold: 17.15638,
			failureWeight: -0.73044, failureDecay: 0.93057,
			activation: 384 * time.Second, window: 2 * time.Second},
		// validateBlockTopicParams.
		EthereumBeaconBlock: {weight: 0.5, inMeshWeight: 0.03333, inMeshCap: 300,
			firstWeight: 1.14716, firstDecay: 0.99283, firstCap: 34.8687,
			invalidWeight: -215.0, invalidDecay: 0.99713,
			meshDecay: 0.97163, meshCap: 2.0547574, meshWeight: -458.31055, meshThreshold: 0.68491,
			failureWeight: -458.31055, failureDecay: 0.97163,
			activation: 384 * time.Second, window: 2 * time.Second},
	}
	// validateAttestationSubnetTopicParams, for each of the 64 subnets.
	for i := range EthereumAttestationSubnetCount {
		cases[EthereumAttestationSubnet(i)] = want{weight: 0.015625, inMeshWeight: 0.03333, inMeshCap: 300,
			firstWeight: 2.6807, firstDecay: 0.86596, firstCap: 14.9214,
			invalidWeight: -6880.0, invalidDecay: 0.99713,
			meshDecay: 0.96466, meshCap: 69.88248, meshWeight: -360.6548, meshThreshold: 4.367655,
			failureWeight: -360.6548, failureDecay: 0.96466,
			activation: 204 * time.Second, window: 2 * time.Second}
	}

	for name, w := range cases {
		tp := topicOf(t, p, name)
		assert.Equal(t, w.weight, tp.TopicWeight, name)
		assert.Equal(t, 12*time.Second, tp.TimeInMeshQuantum, name)
		assert.Equal(t, w.inMeshCap, tp.TimeInMeshCap, name)
		assert.InDelta(t, w.inMeshWeight, tp.TimeInMeshWeight, refTolerance, name)
		assert.InDelta(t, w.firstWeight, tp.FirstMessageDeliveriesWeight, refTolerance, name)
		assert.InDelta(t, w.firstDecay, tp.FirstMessageDeliveriesDecay, refTolerance, name)
		assert.InDelta(t, w.firstCap, tp.FirstMessageDeliveriesCap, refTolerance, name)
		assert.InDelta(t, w.invalidWeight, tp.InvalidMessageDeliveriesWeight, refTolerance, name)
		assert.InDelta(t, w.invalidDecay, tp.InvalidMessageDeliveriesDecay, refTolerance, name)
		// Topics without mesh-delivery scoring have every P3/P3b field
		// zero (Teku's assertMessageRatePenaltiesDisabled).
		assert.InDelta(t, w.meshDecay, tp.MeshMessageDeliveriesDecay, refTolerance, name)
		assert.InDelta(t, w.meshCap, tp.MeshMessageDeliveriesCap, refTolerance, name)
		assert.InDelta(t, w.meshWeight, tp.MeshMessageDeliveriesWeight, refTolerance, name)
		assert.InDelta(t, w.meshThreshold, tp.MeshMessageDeliveriesThreshold, refTolerance, name)
		assert.InDelta(t, w.failureWeight, tp.MeshFailurePenaltyWeight, refTolerance, name)
		assert.InDelta(t, w.failureDecay, tp.MeshFailurePenaltyDecay, refTolerance, name)
		assert.Equal(t, w.activation, tp.MeshMessageDeliveriesActivation, name)
		assert.Equal(t, w.window, tp.MeshMessageDeliveriesWindow, name)
	}
}

// Teku configureAllTopics_atGenesis (current slot 0): P3's weight and
// threshold are zero on every topic. Teku and Lighthouse keep P3's decay,
// cap, window, activation and the P3b weight; with a zero threshold P3b can
// never charge, so peerscore leaves every P3/P3b field zero instead (the
// same scores, less to read).
func TestEthereumPresetGenesis(t *testing.T) {
	e := tekuPreset()
	e.CurrentSlot = 0
	p, _ := derivePreset(t, e)
	for name, tp := range p.Topics {
		assert.Zero(t, tp.MeshMessageDeliveriesWeight, name)
		assert.Zero(t, tp.MeshMessageDeliveriesThreshold, name)
		assert.Zero(t, tp.MeshFailurePenaltyWeight, name)
	}
	// The rest is as on the mature chain (Teku's values again).
	block := topicOf(t, p, EthereumBeaconBlock)
	assert.InDelta(t, 1.14716, block.FirstMessageDeliveriesWeight, refTolerance)
	assert.InDelta(t, -215.0, block.InvalidMessageDeliveriesWeight, refTolerance)

	// P3 switches on per topic once the chain is older than the topic's
	// mesh window: 2 epochs (64 slots) for aggregates, 4 epochs (128) for
	// attestation subnets at this size, 5 epochs (160) for blocks; at the
	// window's last slot it is still off, as in Lighthouse.
	for _, tc := range []struct {
		slot                uint64
		agg, att, blockMesh bool
	}{
		{64, false, false, false},
		{65, true, false, false},
		{129, true, true, false},
		{160, true, true, false},
		{161, true, true, true},
	} {
		e.CurrentSlot = tc.slot
		p, _ := derivePreset(t, e)
		assert.Equal(t, tc.agg, topicOf(t, p, EthereumBeaconAggregateAndProof).MeshMessageDeliveriesWeight != 0, "agg at %d", tc.slot)
		assert.Equal(t, tc.att, topicOf(t, p, EthereumAttestationSubnet(0)).MeshMessageDeliveriesWeight != 0, "att at %d", tc.slot)
		assert.Equal(t, tc.blockMesh, topicOf(t, p, EthereumBeaconBlock).MeshMessageDeliveriesWeight != 0, "block at %d", tc.slot)
	}
}

// Lodestar's "for mature chain" numbers (file and commit above): its budget
// includes BLS-to-execution-change, (10 + 40) · 2.2 = 110, and its mesh
// delivery window is 12s. The other numbers equal Teku's.
func TestEthereumPresetLodestarMatureChain(t *testing.T) {
	e := tekuPreset()
	e.ExcludeBLSToExecutionChange = false
	e.MeshDeliveriesWindow = 12 * time.Second
	p, _ := derivePreset(t, e)

	exit := topicOf(t, p, EthereumVoluntaryExit)
	assert.InDelta(t, 1.8407, exit.FirstMessageDeliveriesWeight, refTolerance)
	assert.InDelta(t, 21.73035, exit.FirstMessageDeliveriesCap, refTolerance)
	assert.InDelta(t, -2200, exit.InvalidMessageDeliveriesWeight, refTolerance)
	for _, name := range []string{EthereumProposerSlashing, EthereumAttesterSlashing} {
		tp := topicOf(t, p, name)
		assert.InDelta(t, 36.81486, tp.FirstMessageDeliveriesWeight, refTolerance)
		assert.InDelta(t, 1.08652, tp.FirstMessageDeliveriesCap, refTolerance)
		assert.InDelta(t, -2200.0, tp.InvalidMessageDeliveriesWeight, refTolerance)
	}

	agg := topicOf(t, p, EthereumBeaconAggregateAndProof)
	assert.InDelta(t, 0.33509, agg.FirstMessageDeliveriesWeight, refTolerance)
	assert.InDelta(t, -220.0, agg.InvalidMessageDeliveriesWeight, refTolerance)
	assert.InDelta(t, 68.6255, agg.MeshMessageDeliveriesCap, refTolerance)
	assert.Equal(t, 12*time.Second, agg.MeshMessageDeliveriesWindow)
	assert.InDelta(t, -0.7474, agg.MeshMessageDeliveriesWeight, refTolerance)
	assert.InDelta(t, -0.7474, agg.MeshFailurePenaltyWeight, refTolerance)
	assert.InDelta(t, 17.15638, agg.MeshMessageDeliveriesThreshold, refTolerance)

	block := topicOf(t, p, EthereumBeaconBlock)
	assert.InDelta(t, 1.14716, block.FirstMessageDeliveriesWeight, refTolerance)
	assert.InDelta(t, -220.0, block.InvalidMessageDeliveriesWeight, refTolerance)
	assert.InDelta(t, 2.0547574, block.MeshMessageDeliveriesCap, refTolerance)
	assert.Equal(t, 384*time.Second, block.MeshMessageDeliveriesActivation)
	assert.Equal(t, 12*time.Second, block.MeshMessageDeliveriesWindow)
	assert.InDelta(t, -468.9689, block.MeshMessageDeliveriesWeight, refTolerance)
	assert.InDelta(t, -468.9689, block.MeshFailurePenaltyWeight, refTolerance)
	assert.InDelta(t, 0.68491, block.MeshMessageDeliveriesThreshold, refTolerance)

	for i := range EthereumAttestationSubnetCount {
		att := topicOf(t, p, EthereumAttestationSubnet(i))
		assert.InDelta(t, 2.6807, att.FirstMessageDeliveriesWeight, refTolerance)
		assert.InDelta(t, -7040.0, att.InvalidMessageDeliveriesWeight, refTolerance)
		assert.InDelta(t, 69.88248, att.MeshMessageDeliveriesCap, refTolerance)
		assert.Equal(t, 204*time.Second, att.MeshMessageDeliveriesActivation)
		assert.InDelta(t, -369.0421, att.MeshMessageDeliveriesWeight, refTolerance)
		assert.InDelta(t, 4.367655, att.MeshMessageDeliveriesThreshold, refTolerance)
	}
	assert.Len(t, p.Topics, 5+64+1)
}

// Lighthouse (gossipsub_scoring_parameters.rs, commit above) on a mainnet-like
// chain of 500000 validators, recomputed by hand from its code, with its two
// settings that differ from Teku's: P3 weight −topic_weight (mild) and 8
// peers per IP.
func TestEthereumPresetLighthouseMainnet(t *testing.T) {
	e := tekuPreset()
	e.ActiveValidators = 500_000
	e.MeshPenalty = MeshPenaltyMild
	e.IPColocationFactorThreshold = 8
	p, _ := derivePreset(t, e)

	// get_committee_count_per_slot: 500000 / 32 / 128 = 122 → min(64, 122) = 64.
	assert.Equal(t, 64, e.CommitteesPerSlot())
	// expected_aggregator_count_per_slot: 64 · 32 = 2048 committees;
	// 500000 / 2048 = 244 (244 · 2048 = 499712), so 288 committees of 245
	// and 1760 of 244; moduli 244/16 = 15 and 245/16 = 15;
	// (1760·244/15 + 288·245/15) / 32 = (500000/15) / 32 = 1041.6667.
	assert.InDelta(t, 1041.6666666, e.AggregatorsPerSlot(), 1e-6)

	assert.Equal(t, 8, p.IPColocationFactorThreshold) // ip_colocation_factor_threshold: 8.0
	// max_positive_score = 50 · 2.15 = 107.5; topic_score_cap = 53.75;
	// ip_colocation_factor_weight = −53.75.
	assert.InDelta(t, 53.75, p.TopicScoreCap, 1e-9)
	assert.InDelta(t, -53.75, p.IPColocationFactorWeight, 1e-9)

	agg := topicOf(t, p, EthereumBeaconAggregateAndProof)
	// first decay: one epoch = 32 slots, 0.01^(1/32) = 0.8659643;
	// cap = (2 · 1041.6667 / 8) / (1 − 0.8659643) = 260.41667 / 0.1340357 = 1942.8907;
	// weight = 40 / 1942.8907 = 0.0205879.
	assert.InDelta(t, 0.8659643, agg.FirstMessageDeliveriesDecay, 1e-7)
	assert.InDelta(t, 1942.8907, agg.FirstMessageDeliveriesCap, 1e-4)
	assert.InDelta(t, 0.0205879, agg.FirstMessageDeliveriesWeight, 1e-7)
	// mesh decay: 2 epochs = 64 slots, 0.01^(1/64) = 0.9305720;
	// threshold = (1041.6667/50) / (1 − 0.9305720) · 0.9305720 = 20.833333 / 0.069428 · 0.930572 = 279.2379;
	// cap = 4 · 279.2379 = 1116.9516; weight = −0.5 (−topic_weight).
	assert.InDelta(t, 0.9305720, agg.MeshMessageDeliveriesDecay, 1e-7)
	assert.InDelta(t, 279.2379, agg.MeshMessageDeliveriesThreshold, 1e-4)
	assert.InDelta(t, 1116.9516, agg.MeshMessageDeliveriesCap, 1e-4)
	assert.Equal(t, -0.5, agg.MeshMessageDeliveriesWeight)
	assert.Equal(t, -0.5, agg.MeshFailurePenaltyWeight)
	// So a silent mesh peer on aggregates loses 0.5 · 0.5 · 279.2379² ≈
	// 19493 points (MeshPenaltyMild's doc).
	silent := agg.TopicWeight * agg.MeshMessageDeliveriesWeight * agg.MeshMessageDeliveriesThreshold * agg.MeshMessageDeliveriesThreshold
	assert.InDelta(t, -19493, silent, 1)

	att := topicOf(t, p, EthereumAttestationSubnet(17))
	// 64 committees per slot ≥ 2 · 64 / 32 = 4: several bursts per subnet
	// per epoch, so the short windows. Rate 500000 / 64 / 32 = 244.140625.
	// first: cap = (2 · 244.140625 / 8) / 0.1340357 = 61.035156 / 0.1340357 = 455.3650;
	// weight = 40 / 455.3650 = 0.0878416.
	assert.InDelta(t, 455.3650, att.FirstMessageDeliveriesCap, 1e-4)
	assert.InDelta(t, 0.0878416, att.FirstMessageDeliveriesWeight, 1e-7)
	// mesh: 4 epochs = 128 slots, 0.01^(1/128) = 0.9646616;
	// threshold = (244.140625/50) / 0.0353384 · 0.9646616 = 133.2903;
	// cap = 16 · 133.2903 = 2132.6441; activation 12s · (32/2 + 1) = 204s;
	// weight = −1/64.
	assert.InDelta(t, 0.9646616, att.MeshMessageDeliveriesDecay, 1e-7)
	assert.InDelta(t, 133.2903, att.MeshMessageDeliveriesThreshold, 1e-4)
	assert.InDelta(t, 2132.6441, att.MeshMessageDeliveriesCap, 1e-4)
	assert.Equal(t, 204*time.Second, att.MeshMessageDeliveriesActivation)
	assert.Equal(t, -0.015625, att.MeshMessageDeliveriesWeight)
	// invalid: −107.5 / (1/64) = −6880.
	assert.InDelta(t, -6880, att.InvalidMessageDeliveriesWeight, 1e-9)

	block := topicOf(t, p, EthereumBeaconBlock)
	// Independent of the validator count: Teku's numbers, but weight −0.5.
	assert.InDelta(t, 0.68491, block.MeshMessageDeliveriesThreshold, refTolerance)
	assert.Equal(t, -0.5, block.MeshMessageDeliveriesWeight)
}

// The topics Teku and Lighthouse leave unscored: sync committee subnets and
// contributions (Prysm's weights), and BLS-to-execution-changes, derived by
// the same method. With every topic the budget is
// (10 + 40) · (2.15 + 0.4 + 0.2 + 0.05) = 140.
func TestEthereumPresetAllTopics(t *testing.T) {
	e := tekuPreset()
	e.ExcludeSyncCommittee = false
	e.ExcludeBLSToExecutionChange = false
	p, _ := derivePreset(t, e)
	assert.Len(t, p.Topics, 5+64+4+1+1)
	assert.InDelta(t, 70, p.TopicScoreCap, 1e-9) // 140 / 2

	// First decay one epoch: 0.8659643.
	for i := range EthereumSyncCommitteeSubnetCount {
		sync := topicOf(t, p, EthereumSyncCommitteeSubnet(i))
		// Weight 0.4 / 4 = 0.1; 512 / 4 = 128 messages per slot;
		// cap = (2 · 128 / 8) / 0.1340357 = 238.7424; weight 40 / 238.7424 = 0.1675446;
		// invalid −140 / 0.1 = −1400; no P3.
		assert.InDelta(t, 0.1, sync.TopicWeight, 1e-12)
		assert.InDelta(t, 238.7424, sync.FirstMessageDeliveriesCap, 1e-4)
		assert.InDelta(t, 0.1675446, sync.FirstMessageDeliveriesWeight, 1e-7)
		assert.InDelta(t, -1400, sync.InvalidMessageDeliveriesWeight, 1e-9)
		assert.Zero(t, sync.MeshMessageDeliveriesWeight)
	}
	contrib := topicOf(t, p, EthereumSyncCommitteeContributionAndProof)
	// 4 subnets · 16 aggregators = 64 per slot: the aggregate topic's
	// numbers at 16384 validators, cap 119.3712; invalid −140 / 0.2 = −700.
	assert.InDelta(t, 119.3712, contrib.FirstMessageDeliveriesCap, refTolerance)
	assert.InDelta(t, -700, contrib.InvalidMessageDeliveriesWeight, 1e-9)
	bls := topicOf(t, p, EthereumBLSToExecutionChange)
	// As voluntary exits (4 per epoch, 100 epochs): cap 21.73035;
	// invalid −140 / 0.05 = −2800.
	assert.InDelta(t, 21.73035, bls.FirstMessageDeliveriesCap, refTolerance)
	assert.InDelta(t, -2800, bls.InvalidMessageDeliveriesWeight, 1e-9)

	// Fewer validators than sync committee seats: min(V, 512) / 4.
	e.ActiveValidators = 200
	p, _ = derivePreset(t, e)
	// 200 / 4 = 50 per slot; cap (2 · 50 / 8) / 0.1340357 = 93.2588.
	assert.InDelta(t, 93.2588, topicOf(t, p, EthereumSyncCommitteeSubnet(0)).FirstMessageDeliveriesCap, 1e-4)
}

func TestEthereumPresetMeshPenaltyOff(t *testing.T) {
	e := tekuPreset()
	e.MeshPenalty = MeshPenaltyOff
	p, _ := derivePreset(t, e)
	for name, tp := range p.Topics {
		assert.Zero(t, tp.MeshMessageDeliveriesWeight, name)
		assert.Zero(t, tp.MeshFailurePenaltyWeight, name)
	}
	assert.Equal(t, "off", MeshPenaltyOff.String())
	assert.Equal(t, "full", MeshPenaltyFull.String())
	assert.Equal(t, "mild", MeshPenaltyMild.String())
}

func TestEthereumCommittees(t *testing.T) {
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
		e := EthereumPreset{ActiveValidators: tt.validators, SlotsPerEpoch: tt.spe}
		assert.Equal(t, tt.committees, e.CommitteesPerSlot(), tt.validators)
		assert.InDelta(t, tt.aggregators, e.AggregatorsPerSlot(), 1e-9, tt.validators)
	}
}

// Every derived result passes Validate, across chain sizes and slot
// timings, with and without mesh-delivery scoring.
func TestEthereumPresetValidAcrossChains(t *testing.T) {
	for _, validators := range []int{1, 100, 1_000, 16_384, 100_000, 262_144, 500_000, 1_000_000, 2_000_000, 10_000_000} {
		for _, timing := range []struct {
			slot time.Duration
			spe  int
		}{{12 * time.Second, 32}, {5 * time.Second, 16}, {6 * time.Second, 32}, {2 * time.Second, 8}, {500 * time.Millisecond, 32}, {time.Second, 4}} {
			for _, penalty := range []MeshPenalty{MeshPenaltyFull, MeshPenaltyMild, MeshPenaltyOff} {
				for _, slot := range []uint64{0, 100, 1 << 40} {
					e := EthereumPreset{
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
func TestEthereumPresetTwoDigests(t *testing.T) {
	e := tekuPreset()
	e.ForkDigests = append(e.ForkDigests, [4]byte{0xaa, 0xbb, 0xcc, 0xdd})
	p, _ := derivePreset(t, e)
	assert.Len(t, p.Topics, 2*(5+64))
	assert.InDelta(t, 53.75, p.TopicScoreCap, refTolerance)
	next := p.Topics["/eth2/aabbccdd/beacon_block/ssz_snappy"]
	require.NotNil(t, next)
	assert.Equal(t, *topicOf(t, p, EthereumBeaconBlock), *next)
}

func TestEthereumPresetTopicParams(t *testing.T) {
	e := tekuPreset()
	p, _ := derivePreset(t, e)
	e.ForkDigests = nil // not needed for one topic
	for _, name := range []string{EthereumBeaconBlock, EthereumAttestationSubnet(5), EthereumVoluntaryExit} {
		tp, err := e.TopicParams(name)
		require.NoError(t, err, name)
		assert.Equal(t, *topicOf(t, p, name), *tp, name)
	}
	_, err := e.TopicParams(EthereumSyncCommitteeSubnet(0)) // excluded in this preset
	assert.ErrorIs(t, err, ErrInvalidParams)
	_, err = e.TopicParams("blob_sidecar_0")
	assert.ErrorIs(t, err, ErrInvalidParams)
}

func TestEthereumPresetSpecsRoundTrip(t *testing.T) {
	e := tekuPreset()
	specs, budget, err := e.Specs()
	require.NoError(t, err)
	assert.InDelta(t, 107.5, budget.MaxPositiveScore, 1e-9)
	viaSpecs, _, err := DeriveParams(specs, budget)
	require.NoError(t, err)
	direct, _ := derivePreset(t, e)
	require.Equal(t, len(direct.Topics), len(viaSpecs.Topics))
	for name, tp := range direct.Topics {
		assert.Equal(t, *tp, *viaSpecs.Topics[name], name)
	}
}

func TestEthereumPresetDefaults(t *testing.T) {
	// Only the validator count and a digest: mainnet timing, D = 8, 2s
	// window, 3 per IP, every topic.
	p, _ := derivePreset(t, EthereumPreset{ActiveValidators: 16384, CurrentSlot: 10_000, ForkDigests: [][4]byte{testDigest}})
	assert.Equal(t, 12*time.Second, p.DecayInterval)
	assert.Equal(t, 3, p.IPColocationFactorThreshold)
	assert.Len(t, p.Topics, 75)
	block := topicOf(t, p, EthereumBeaconBlock)
	assert.Equal(t, 2*time.Second, block.MeshMessageDeliveriesWindow)
	assert.InDelta(t, 34.8687, block.FirstMessageDeliveriesCap, refTolerance) // D = 8
	assert.Zero(t, p.AppSpecificScore("anyone"))
}

func TestEthereumPresetErrors(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*EthereumPreset)
		field string
	}{
		{"no validators", func(e *EthereumPreset) { e.ActiveValidators = 0 }, "EthereumPreset.ActiveValidators"},
		{"no digest", func(e *EthereumPreset) { e.ForkDigests = nil }, "EthereumPreset.ForkDigests"},
		{"negative slot", func(e *EthereumPreset) { e.SlotDuration = -time.Second }, "EthereumPreset.SlotDuration"},
		{"negative epoch", func(e *EthereumPreset) { e.SlotsPerEpoch = -1 }, "EthereumPreset.SlotsPerEpoch"},
		{"bad mesh penalty", func(e *EthereumPreset) { e.MeshPenalty = 7 }, "EthereumPreset.MeshPenalty"},
		// A 10ms slot makes a 320ms epoch, shorter than the 1s decay interval
		// that a one-epoch first-delivery window must span.
		{"tiny slots", func(e *EthereumPreset) { e.SlotDuration = 10 * time.Millisecond }, "TopicSpec.FirstDeliveriesDecay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tekuPreset()
			tt.edit(&e)
			_, _, err := e.Derive()
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidParams)
			var pe *ParamError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.field, pe.Field, err.Error())
		})
	}
}
