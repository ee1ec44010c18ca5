package ethereum_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/peerscore/peerscore/preset/ethereum"
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
// recomputed by hand in TestPresetLighthouseMainnet.

// refTolerance is the tolerance Teku's and Lodestar's tests use.
const refTolerance = 0.00005

func TestPresetTekuGlobal(t *testing.T) {
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

func TestPresetTekuMatureChain(t *testing.T) {
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
		ethereum.VoluntaryExit: {weight: 0.05, inMeshWeight: 0.03333, inMeshCap: 300,
			firstWeight: 1.8407, firstDecay: 0.99856, firstCap: 21.73035,
			invalidWeight: -2150.0, invalidDecay: 0.99713},
		// validateSlashingTopicParams, both slashing topics.
		ethereum.ProposerSlashing: {weight: 0.05, inMeshWeight: 0.03333, inMeshCap: 300,
			firstWeight: 36.81486, firstDecay: 0.998561, firstCap: 1.08652,
			invalidWeight: -2150.0, invalidDecay: 0.99713},
		ethereum.AttesterSlashing: {weight: 0.05, inMeshWeight: 0.03333, inMeshCap: 300,
			firstWeight: 36.81486, firstDecay: 0.998561, firstCap: 1.08652,
			invalidWeight: -2150.0, invalidDecay: 0.99713},
		// validateAggregateTopicParams.
		ethereum.BeaconAggregateAndProof: {weight: 0.5, inMeshWeight: 0.03333, inMeshCap: 300,
			firstWeight: 0.33509, firstDecay: 0.86596, firstCap: 119.3712,
			invalidWeight: -215.0, invalidDecay: 0.99713,
			meshDecay: 0.930572, meshCap: 68.6255, meshWeight: -0.7304, meshThreshold: 17.15638,
			failureWeight: -0.73044, failureDecay: 0.93057,
			activation: 384 * time.Second, window: 2 * time.Second},
		// validateBlockTopicParams.
		ethereum.BeaconBlock: {weight: 0.5, inMeshWeight: 0.03333, inMeshCap: 300,
			firstWeight: 1.14716, firstDecay: 0.99283, firstCap: 34.8687,
			invalidWeight: -215.0, invalidDecay: 0.99713,
			meshDecay: 0.97163, meshCap: 2.0547574, meshWeight: -458.31055, meshThreshold: 0.68491,
			failureWeight: -458.31055, failureDecay: 0.97163,
			activation: 384 * time.Second, window: 2 * time.Second},
	}
	// validateAttestationSubnetTopicParams, for each of the 64 subnets.
	for i := range ethereum.AttestationSubnetCount {
		cases[ethereum.AttestationSubnet(i)] = want{weight: 0.015625, inMeshWeight: 0.03333, inMeshCap: 300,
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
func TestPresetGenesis(t *testing.T) {
	e := tekuPreset()
	e.CurrentSlot = 0
	p, _ := derivePreset(t, e)
	for name, tp := range p.Topics {
		assert.Zero(t, tp.MeshMessageDeliveriesWeight, name)
		assert.Zero(t, tp.MeshMessageDeliveriesThreshold, name)
		assert.Zero(t, tp.MeshFailurePenaltyWeight, name)
	}
	// The rest is as on the mature chain (Teku's values again).
	block := topicOf(t, p, ethereum.BeaconBlock)
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
		assert.Equal(t, tc.agg, topicOf(t, p, ethereum.BeaconAggregateAndProof).MeshMessageDeliveriesWeight != 0, "agg at %d", tc.slot)
		assert.Equal(t, tc.att, topicOf(t, p, ethereum.AttestationSubnet(0)).MeshMessageDeliveriesWeight != 0, "att at %d", tc.slot)
		assert.Equal(t, tc.blockMesh, topicOf(t, p, ethereum.BeaconBlock).MeshMessageDeliveriesWeight != 0, "block at %d", tc.slot)
	}
}

// Lodestar's "for mature chain" numbers (file and commit above): its budget
// includes BLS-to-execution-change, (10 + 40) · 2.2 = 110, and its mesh
// delivery window is 12s. The other numbers equal Teku's.
func TestPresetLodestarMatureChain(t *testing.T) {
	e := tekuPreset()
	e.ExcludeBLSToExecutionChange = false
	e.MeshDeliveriesWindow = 12 * time.Second
	p, _ := derivePreset(t, e)

	exit := topicOf(t, p, ethereum.VoluntaryExit)
	assert.InDelta(t, 1.8407, exit.FirstMessageDeliveriesWeight, refTolerance)
	assert.InDelta(t, 21.73035, exit.FirstMessageDeliveriesCap, refTolerance)
	assert.InDelta(t, -2200, exit.InvalidMessageDeliveriesWeight, refTolerance)
	for _, name := range []string{ethereum.ProposerSlashing, ethereum.AttesterSlashing} {
		tp := topicOf(t, p, name)
		assert.InDelta(t, 36.81486, tp.FirstMessageDeliveriesWeight, refTolerance)
		assert.InDelta(t, 1.08652, tp.FirstMessageDeliveriesCap, refTolerance)
		assert.InDelta(t, -2200.0, tp.InvalidMessageDeliveriesWeight, refTolerance)
	}

	agg := topicOf(t, p, ethereum.BeaconAggregateAndProof)
	assert.InDelta(t, 0.33509, agg.FirstMessageDeliveriesWeight, refTolerance)
	assert.InDelta(t, -220.0, agg.InvalidMessageDeliveriesWeight, refTolerance)
	assert.InDelta(t, 68.6255, agg.MeshMessageDeliveriesCap, refTolerance)
	assert.Equal(t, 12*time.Second, agg.MeshMessageDeliveriesWindow)
	assert.InDelta(t, -0.7474, agg.MeshMessageDeliveriesWeight, refTolerance)
	assert.InDelta(t, -0.7474, agg.MeshFailurePenaltyWeight, refTolerance)
	assert.InDelta(t, 17.15638, agg.MeshMessageDeliveriesThreshold, refTolerance)

	block := topicOf(t, p, ethereum.BeaconBlock)
	assert.InDelta(t, 1.14716, block.FirstMessageDeliveriesWeight, refTolerance)
	assert.InDelta(t, -220.0, block.InvalidMessageDeliveriesWeight, refTolerance)
	assert.InDelta(t, 2.0547574, block.MeshMessageDeliveriesCap, refTolerance)
	assert.Equal(t, 384*time.Second, block.MeshMessageDeliveriesActivation)
	assert.Equal(t, 12*time.Second, block.MeshMessageDeliveriesWindow)
	assert.InDelta(t, -468.9689, block.MeshMessageDeliveriesWeight, refTolerance)
	assert.InDelta(t, -468.9689, block.MeshFailurePenaltyWeight, refTolerance)
	assert.InDelta(t, 0.68491, block.MeshMessageDeliveriesThreshold, refTolerance)

	for i := range ethereum.AttestationSubnetCount {
		att := topicOf(t, p, ethereum.AttestationSubnet(i))
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
func TestPresetLighthouseMainnet(t *testing.T) {
	e := tekuPreset()
	e.ActiveValidators = 500_000
	e.MeshPenalty = ethereum.MeshPenaltyMild
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

	agg := topicOf(t, p, ethereum.BeaconAggregateAndProof)
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
	// 19493 points (ethereum.MeshPenaltyMild's doc).
	silent := agg.TopicWeight * agg.MeshMessageDeliveriesWeight * agg.MeshMessageDeliveriesThreshold * agg.MeshMessageDeliveriesThreshold
	assert.InDelta(t, -19493, silent, 1)

	att := topicOf(t, p, ethereum.AttestationSubnet(17))
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

	block := topicOf(t, p, ethereum.BeaconBlock)
	// Independent of the validator count: Teku's numbers, but weight −0.5.
	assert.InDelta(t, 0.68491, block.MeshMessageDeliveriesThreshold, refTolerance)
	assert.Equal(t, -0.5, block.MeshMessageDeliveriesWeight)
}
