// Package ethereum derives peer score parameters for an Ethereum beacon
// node: the gossip topics of the consensus p2p spec, weighted and sized
// from the chain's validator count by the method the consensus clients
// share, through package github.com/peerscore/peerscore/derive.
//
// # Sources
//
// The method is Lighthouse's
// (beacon_node/lighthouse_network/src/service/gossipsub_scoring_parameters.rs);
// Teku (GossipScoringConfigurator.java) and Lodestar
// (packages/beacon-node/src/network/gossip/scoringParameters.ts) reproduce
// it, and the preset's output
// matches the numbers their tests publish for a mature mainnet chain of
// 16384 validators: Teku's with the phase0 topics only, Lodestar's with
// bls_to_execution_change added. The sync committee weights are Prysm's.
// The clients differ most on the mesh delivery penalty (P3, P3b), which
// Preset.MeshPenalty chooses.
//
// # Topics
//
// With slot s, epoch E = SLOTS_PER_EPOCH slots, D the mesh degree and V the
// active validators, the preset scores, under every fork digest it is
// given:
//
//	topic                      weight  messages per slot   P2 window     P3 window, cap factor, activation
//	beacon_block               0.5     1                   20 E          5 E, 3, E
//	beacon_aggregate_and_proof 0.5     aggregators/slot    E             2 E, 4, E
//	beacon_attestation_<i>     1/64    V/64/SlotsPerEpoch  E or 4 E (*)  4 E or 16 E, 16, SlotsPerEpoch/2+1 slots or 3 E (*)
//	voluntary_exit             0.05    4/SlotsPerEpoch     100 E         -
//	proposer_slashing          0.05    1/5/SlotsPerEpoch   100 E         -
//	attester_slashing          0.05    1/5/SlotsPerEpoch   100 E         -
//	sync_committee_<i>         0.1     min(V, 512)/4       E             -
//	sync_committee_contrib…    0.2     4·16 = 64           E             -
//	bls_to_execution_change    0.05    4/SlotsPerEpoch     100 E         -
//
// (*) the first when each subnet sees several committees per epoch
// (committees per slot ≥ 2·64/SlotsPerEpoch), the second otherwise. Every
// topic: one decay interval per slot (at least 1s), P1 saturates after an
// hour in the mesh, P4 decays over 50 E. The budget is 50 points per unit of
// topic weight (10 for P1, 40 for P2): 140 with every topic, 107.5 with the
// phase0 ones. The topic cap is half of it and the P6 weight minus that; P7
// decays over 10 E and takes a peer to the gossip threshold at 10 penalties
// per epoch; scores are retained for 100 E; the thresholds are
// derive.DefaultThresholds. Topics not listed (blob and data column
// sidecars, light client updates) are not scored: give them parameters of
// your own if you want them scored.
//
// # Spec numbers
//
// The rates come from the consensus spec's mainnet preset, which mainnet,
// its testnets and Gnosis share: MAX_COMMITTEES_PER_SLOT 64,
// TARGET_COMMITTEE_SIZE 128, TARGET_AGGREGATORS_PER_COMMITTEE 16,
// SYNC_COMMITTEE_SIZE 512, TARGET_AGGREGATORS_PER_SYNC_SUBCOMMITTEE 16,
// ATTESTATION_SUBNET_COUNT 64 and SYNC_COMMITTEE_SUBNET_COUNT 4; committees
// per slot as get_committee_count_per_slot computes them
// (Preset.CommitteesPerSlot), aggregates per slot from the committee sizes
// and is_aggregator's modulus (Preset.AggregatorsPerSlot). SECONDS_PER_SLOT
// and SLOTS_PER_EPOCH are the Preset's fields (12 and 32 by default;
// Gnosis: 5 and 16).
//
// # Use
//
// Derive the parameters at start-up, give them to the scorer, and derive
// them again as the validator count drifts (once per epoch or per day is
// plenty), replacing each topic's with Scorer.SetTopicParams:
//
//	preset := ethereum.Preset{
//		ActiveValidators: activeValidators,
//		CurrentSlot:      currentSlot,
//		ForkDigests:      [][4]byte{forkDigest},
//	}
//	params, thresholds, err := preset.Derive()
//	if err != nil { ... }
//	params.AppSpecificScore = peerManagerScore // P5: the client's own opinion
//	scorer, err := peerscore.New(params, peerscore.WithThresholds(thresholds))
package ethereum
