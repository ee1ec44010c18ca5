package peerscore

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// Ethereum beacon chain gossip topic names, without the "/eth2/<fork
// digest>/" prefix and "/ssz_snappy" suffix that EthereumTopic adds.
const (
	EthereumBeaconBlock                       = "beacon_block"
	EthereumBeaconAggregateAndProof           = "beacon_aggregate_and_proof"
	EthereumVoluntaryExit                     = "voluntary_exit"
	EthereumProposerSlashing                  = "proposer_slashing"
	EthereumAttesterSlashing                  = "attester_slashing"
	EthereumSyncCommitteeContributionAndProof = "sync_committee_contribution_and_proof"
	EthereumBLSToExecutionChange              = "bls_to_execution_change"
)

// Subnet counts of the beacon chain (the same on every public network).
const (
	EthereumAttestationSubnetCount   = 64
	EthereumSyncCommitteeSubnetCount = 4
)

// Beacon chain constants the preset's expected rates depend on: the mainnet
// preset's values, which mainnet, its testnets and Gnosis share.
const (
	ethMaxCommitteesPerSlot                 = 64
	ethTargetCommitteeSize                  = 128
	ethTargetAggregatorsPerCommittee        = 16
	ethSyncCommitteeSize                    = 512
	ethTargetAggregatorsPerSyncSubcommittee = 16
)

// Topic weights of the preset. Lighthouse, Teku and Lodestar use the first
// six; the sync committee and BLS-to-execution-change weights are Prysm's.
const (
	ethBeaconBlockWeight        = 0.5
	ethAggregateWeight          = 0.5
	ethAttestationTotalWeight   = 1.0 // shared by the 64 subnets
	ethVoluntaryExitWeight      = 0.05
	ethProposerSlashingWeight   = 0.05
	ethAttesterSlashingWeight   = 0.05
	ethSyncCommitteeTotalWeight = 0.4 // shared by the 4 subnets
	ethSyncContributionWeight   = 0.2
	ethBLSChangeWeight          = 0.05
)

// EthereumAttestationSubnet returns the name of attestation subnet i
// ("beacon_attestation_<i>"), 0 ≤ i < EthereumAttestationSubnetCount.
func EthereumAttestationSubnet(i int) string {
	return "beacon_attestation_" + strconv.Itoa(i)
}

// EthereumSyncCommitteeSubnet returns the name of sync committee subnet i
// ("sync_committee_<i>"), 0 ≤ i < EthereumSyncCommitteeSubnetCount.
func EthereumSyncCommitteeSubnet(i int) string {
	return "sync_committee_" + strconv.Itoa(i)
}

// EthereumTopic returns the full gossipsub topic of a beacon chain topic
// name under a fork digest, as the consensus p2p spec spells it:
// "/eth2/<digest in lowercase hex>/<name>/ssz_snappy".
func EthereumTopic(forkDigest [4]byte, name string) string {
	return "/eth2/" + hex.EncodeToString(forkDigest[:]) + "/" + name + "/ssz_snappy"
}

// MeshPenalty chooses how hard the Ethereum preset's P3 and P3b (mesh
// message delivery deficit and mesh failure penalty) hit. This is where the
// consensus clients disagree most.
type MeshPenalty int

const (
	// MeshPenaltyFull sizes P3 from the budget: a mesh peer that delivers
	// nothing loses MaxPositiveScore (weight −MaxPositiveScore / (TopicWeight
	// · threshold²)). The original method, still used by Teku and
	// Lodestar. The zero value.
	MeshPenaltyFull MeshPenalty = iota
	// MeshPenaltyMild gives P3 the weight −TopicWeight, whatever the
	// threshold: a silent mesh peer loses TopicWeight² · threshold², which
	// grows with the square of the topic's rate. At 500000 validators that
	// is about 0.1 points on blocks, 4 per attestation subnet and 19500 on
	// aggregates (threshold 279), against a flat 140 with
	// MeshPenaltyFull. Lighthouse's current choice.
	MeshPenaltyMild
	// MeshPenaltyOff turns P3 and P3b off, as Prysm runs.
	MeshPenaltyOff
)

// String returns the constant's name without the prefix.
func (m MeshPenalty) String() string {
	switch m {
	case MeshPenaltyFull:
		return "full"
	case MeshPenaltyMild:
		return "mild"
	case MeshPenaltyOff:
		return "off"
	}
	return "MeshPenalty(" + strconv.Itoa(int(m)) + ")"
}

// EthereumPreset derives peer score parameters for an Ethereum beacon node
// from the chain's size, following the method Lighthouse introduced and
// Teku and Lodestar reproduce (the numbers match Teku's and Lodestar's
// published test values; see the tests). Fields marked "zero:" take that
// default when left at zero.
//
// With slot s, epoch E = SlotsPerEpoch·s, one decay interval per slot
// (max(s, 1s)), D = MeshDegree and V = ActiveValidators, the topics are:
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
// topic: P1 saturates after an hour, P4 decays over 50 E. The budget is 50
// points per unit of topic weight (10 for P1, 40 for P2), 140 with every
// topic; the topic cap is half of it, the P6 weight minus that; P7 decays
// over 10 E and reaches the gossip threshold at 10 penalties per epoch;
// scores are retained for 100 E; the thresholds are DefaultThresholds.
type EthereumPreset struct {
	// ActiveValidators is the number of active validators, which sets the
	// attestation and aggregate rates. Positive. Recompute the parameters
	// (Scorer.SetTopicParams) as it drifts, e.g. once per epoch or day.
	ActiveValidators int

	// SlotDuration is SECONDS_PER_SLOT. Zero: 12s (mainnet).
	SlotDuration time.Duration

	// SlotsPerEpoch is SLOTS_PER_EPOCH. Zero: 32 (mainnet).
	SlotsPerEpoch int

	// CurrentSlot is the chain's current slot. Until the chain is older
	// than a topic's P3 window, P3 and P3b are off on that topic: there
	// has not been enough traffic to judge a peer by, as Lighthouse and
	// Teku do. Zero (genesis) leaves P3 off everywhere.
	CurrentSlot uint64

	// ForkDigests are the fork digests to register every topic under:
	// at least the current one, and the next fork's around a fork
	// boundary. At least one.
	ForkDigests [][4]byte

	// MeshDegree is the router's D. Zero: 8 (the consensus spec's D).
	MeshDegree int

	// MeshDeliveriesWindow is MeshMessageDeliveriesWindow on the topics
	// with P3. Zero: 2s (Lighthouse, Teku, Prysm; Lodestar uses 12s).
	MeshDeliveriesWindow time.Duration

	// MeshPenalty sets the P3 and P3b weight. Zero: MeshPenaltyFull.
	MeshPenalty MeshPenalty

	// IPColocationFactorThreshold is how many peers may share an address
	// before P6 applies. Zero: 3 (Teku, Lodestar; Lighthouse allows 8,
	// Prysm 10).
	IPColocationFactorThreshold int

	// ExcludeSyncCommittee leaves out the sync committee subnets and the
	// contribution topic (Altair), and their weight from the budget.
	ExcludeSyncCommittee bool

	// ExcludeBLSToExecutionChange leaves out bls_to_execution_change
	// (Capella), and its weight from the budget. With both exclusions the
	// topics and budget are Lighthouse's and Teku's (107.5); with only
	// this one included, Lodestar's (110).
	ExcludeBLSToExecutionChange bool
}

// ethereum is an EthereumPreset with defaults filled in and checked.
type ethereum struct {
	EthereumPreset
	slot, epoch time.Duration
}

func (e EthereumPreset) resolve() (*ethereum, error) {
	if e.SlotDuration == 0 {
		e.SlotDuration = 12 * time.Second
	}
	if e.SlotsPerEpoch == 0 {
		e.SlotsPerEpoch = 32
	}
	if e.MeshDegree == 0 {
		e.MeshDegree = 8
	}
	if e.MeshDeliveriesWindow == 0 {
		e.MeshDeliveriesWindow = 2 * time.Second
	}
	if e.IPColocationFactorThreshold == 0 {
		e.IPColocationFactorThreshold = 3
	}
	field := func(name string, value any, rule string) error {
		return specError("", "EthereumPreset."+name, value, rule)
	}
	switch {
	case e.ActiveValidators < 1:
		return nil, field("ActiveValidators", e.ActiveValidators, "must be at least 1")
	case e.SlotDuration < 0:
		return nil, field("SlotDuration", e.SlotDuration, "must not be negative")
	case e.SlotsPerEpoch < 0:
		return nil, field("SlotsPerEpoch", e.SlotsPerEpoch, "must not be negative")
	case e.MeshDegree < 0:
		return nil, field("MeshDegree", e.MeshDegree, "must not be negative")
	case e.MeshDeliveriesWindow < 0:
		return nil, field("MeshDeliveriesWindow", e.MeshDeliveriesWindow, "must not be negative")
	case e.MeshPenalty < MeshPenaltyFull || e.MeshPenalty > MeshPenaltyOff:
		return nil, field("MeshPenalty", e.MeshPenalty, "must be MeshPenaltyFull, MeshPenaltyMild or MeshPenaltyOff")
	case e.IPColocationFactorThreshold < 0:
		return nil, field("IPColocationFactorThreshold", e.IPColocationFactorThreshold, "must not be negative")
	}
	return &ethereum{
		EthereumPreset: e,
		slot:           e.SlotDuration,
		epoch:          e.SlotDuration * time.Duration(e.SlotsPerEpoch),
	}, nil
}

// CommitteesPerSlot returns the number of beacon committees per slot, as
// the consensus spec's get_committee_count_per_slot computes it:
//
//	max(1, min(64, ActiveValidators / SlotsPerEpoch / 128))
//
// in integer division. 4 at 16384 validators, 64 from 262144 on.
func (e EthereumPreset) CommitteesPerSlot() int {
	spe := e.SlotsPerEpoch
	if spe <= 0 {
		spe = 32
	}
	n := max(e.ActiveValidators, 0) / spe / ethTargetCommitteeSize
	return max(1, min(ethMaxCommitteesPerSlot, n))
}

// AggregatorsPerSlot returns the expected number of attestation aggregates
// per slot, the aggregate topic's rate. Each committee of size n selects
// about n / max(1, n/16) aggregators; committees in an epoch differ in size
// by at most one, so with C committees per epoch, small = V / C and
// L = V − small·C committees of size small+1:
//
//	((C − L)·small / max(1, small/16) + L·(small+1) / max(1, (small+1)/16)) / SlotsPerEpoch
//
// with integer division in the moduli only, as Lighthouse computes it (Teku
// and Lodestar also round the per-epoch counts down; the difference is
// under one aggregate per slot). 64 at 16384 validators (16 per committee
// of 128).
func (e EthereumPreset) AggregatorsPerSlot() float64 {
	spe := e.SlotsPerEpoch
	if spe <= 0 {
		spe = 32
	}
	v := max(e.ActiveValidators, 0)
	committees := e.CommitteesPerSlot() * spe
	small := v / committees
	large := v - small*committees
	modSmall := max(1, small/ethTargetAggregatorsPerCommittee)
	modLarge := max(1, (small+1)/ethTargetAggregatorsPerCommittee)
	perEpoch := float64((committees-large)*small)/float64(modSmall) +
		float64(large*(small+1))/float64(modLarge)
	return perEpoch / float64(spe)
}

// topicSpecs returns the spec of every topic the preset scores, by bare
// topic name.
func (e *ethereum) topicSpecs() map[string]TopicSpec {
	spe := float64(e.SlotsPerEpoch)
	base := func(weight, perSlot float64, firstDecay time.Duration) TopicSpec {
		return TopicSpec{
			Weight:                 weight,
			MessagesPerInterval:    perSlot,
			MeshDegree:             e.MeshDegree,
			TimeInMeshQuantum:      e.slot,
			MaxTimeInMesh:          time.Hour,
			FirstDeliveriesDecay:   firstDecay,
			InvalidDeliveriesDecay: 50 * e.epoch,
		}
	}
	// withMesh turns P3 on with a window of decaySlots slots, unless the
	// chain is not yet that old or the preset turns P3 off.
	withMesh := func(s TopicSpec, decaySlots int, capFactor float64, activation time.Duration) TopicSpec {
		if e.MeshPenalty == MeshPenaltyOff || e.CurrentSlot <= uint64(decaySlots) {
			return s
		}
		s.MeshDeliveries = true
		s.MeshDeliveriesDecay = e.slot * time.Duration(decaySlots)
		s.MeshDeliveriesCapFactor = capFactor
		s.MeshDeliveriesActivation = activation
		s.MeshDeliveriesWindow = e.MeshDeliveriesWindow
		if e.MeshPenalty == MeshPenaltyMild {
			s.MeshDeliveriesWeight = -s.Weight
		}
		return s
	}

	specs := make(map[string]TopicSpec)
	specs[EthereumVoluntaryExit] = base(ethVoluntaryExitWeight, 4/spe, 100*e.epoch)
	specs[EthereumAttesterSlashing] = base(ethAttesterSlashingWeight, 1.0/5/spe, 100*e.epoch)
	specs[EthereumProposerSlashing] = base(ethProposerSlashingWeight, 1.0/5/spe, 100*e.epoch)

	specs[EthereumBeaconBlock] = withMesh(base(ethBeaconBlockWeight, 1, 20*e.epoch),
		5*e.SlotsPerEpoch, 3, e.epoch)
	specs[EthereumBeaconAggregateAndProof] = withMesh(base(ethAggregateWeight, e.AggregatorsPerSlot(), e.epoch),
		2*e.SlotsPerEpoch, 4, e.epoch)

	// A subnet that serves several committees per epoch sees bursts often
	// enough for short windows; otherwise its windows stretch over four
	// times as long.
	bursty := e.CommitteesPerSlot() >= 2*EthereumAttestationSubnetCount/e.SlotsPerEpoch
	firstDecay, meshSlots, activation := 4*e.epoch, 16*e.SlotsPerEpoch, 3*e.epoch
	if bursty {
		firstDecay, meshSlots, activation = e.epoch, 4*e.SlotsPerEpoch, e.slot*time.Duration(e.SlotsPerEpoch/2+1)
	}
	perSubnet := float64(e.ActiveValidators) / EthereumAttestationSubnetCount / spe
	attestation := withMesh(base(ethAttestationTotalWeight/EthereumAttestationSubnetCount, perSubnet, firstDecay),
		meshSlots, 16, activation)
	for i := range EthereumAttestationSubnetCount {
		specs[EthereumAttestationSubnet(i)] = attestation
	}

	if !e.ExcludeSyncCommittee {
		members := float64(min(e.ActiveValidators, ethSyncCommitteeSize))
		sync := base(ethSyncCommitteeTotalWeight/EthereumSyncCommitteeSubnetCount,
			members/EthereumSyncCommitteeSubnetCount, e.epoch)
		for i := range EthereumSyncCommitteeSubnetCount {
			specs[EthereumSyncCommitteeSubnet(i)] = sync
		}
		specs[EthereumSyncCommitteeContributionAndProof] = base(ethSyncContributionWeight,
			EthereumSyncCommitteeSubnetCount*ethTargetAggregatorsPerSyncSubcommittee, e.epoch)
	}
	if !e.ExcludeBLSToExecutionChange {
		specs[EthereumBLSToExecutionChange] = base(ethBLSChangeWeight, 4/spe, 100*e.epoch)
	}
	return specs
}

// budget returns the preset's score budget.
func (e *ethereum) budget() ScoreBudget {
	weight := ethBeaconBlockWeight + ethAggregateWeight + ethAttestationTotalWeight +
		ethVoluntaryExitWeight + ethProposerSlashingWeight + ethAttesterSlashingWeight
	if !e.ExcludeSyncCommittee {
		weight += ethSyncCommitteeTotalWeight + ethSyncContributionWeight
	}
	if !e.ExcludeBLSToExecutionChange {
		weight += ethBLSChangeWeight
	}
	thresholds := DefaultThresholds()
	return ScoreBudget{
		DecayInterval:               max(e.slot, time.Second),
		DecayToZero:                 defaultDecayToZero,
		MaxInMeshScore:              DefaultMaxInMeshScore,
		MaxFirstDeliveriesScore:     DefaultMaxFirstDeliveriesScore,
		MaxPositiveScore:            (DefaultMaxInMeshScore + DefaultMaxFirstDeliveriesScore) * weight,
		Thresholds:                  &thresholds,
		RetainScore:                 100 * e.epoch,
		IPColocationFactorThreshold: e.IPColocationFactorThreshold,
		BehaviourPenaltyDecay:       10 * e.epoch,
		BehaviourPenaltyThreshold:   6,
		BehaviourPenaltyRate:        10 / float64(e.SlotsPerEpoch),
	}
}

// Specs returns what the preset derives from: a TopicSpec for every topic
// under every fork digest, keyed by full topic name, and the budget, whose
// MaxPositiveScore counts each topic once however many digests there are.
// DeriveParams(Specs()) is Derive(); edit the specs in between to adjust
// the preset.
func (e EthereumPreset) Specs() (map[string]TopicSpec, ScoreBudget, error) {
	eth, err := e.resolve()
	if err != nil {
		return nil, ScoreBudget{}, err
	}
	if len(eth.ForkDigests) == 0 {
		return nil, ScoreBudget{}, specError("", "EthereumPreset.ForkDigests", eth.ForkDigests, "must hold at least one fork digest")
	}
	bare := eth.topicSpecs()
	specs := make(map[string]TopicSpec, len(bare)*len(eth.ForkDigests))
	for _, digest := range eth.ForkDigests {
		for name, spec := range bare {
			specs[EthereumTopic(digest, name)] = spec
		}
	}
	return specs, eth.budget(), nil
}

// Derive returns the preset's Params and Thresholds, which pass Validate.
// Params.AppSpecificScore returns 0: set your own (peer manager scores,
// trusted peers) before use.
func (e EthereumPreset) Derive() (*Params, *Thresholds, error) {
	specs, budget, err := e.Specs()
	if err != nil {
		return nil, nil, err
	}
	return DeriveParams(specs, budget)
}

// TopicParams returns the parameters of one topic, named without fork
// digest or encoding (EthereumBeaconBlock, EthereumAttestationSubnet(3),
// …), for registering topics one at a time (pubsub's Topic.SetScoreParams,
// Scorer.SetTopicParams). ForkDigests is not needed.
func (e EthereumPreset) TopicParams(name string) (*TopicParams, error) {
	eth, err := e.resolve()
	if err != nil {
		return nil, err
	}
	spec, ok := eth.topicSpecs()[name]
	if !ok {
		return nil, fmt.Errorf("peerscore: EthereumPreset does not score topic %q: %w", name, ErrInvalidParams)
	}
	budget := eth.budget()
	return DeriveTopicParams(spec, budget)
}
