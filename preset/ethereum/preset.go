package ethereum

import (
	"strconv"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/derive"
	"github.com/peerscore/peerscore/internal/paramerr"
)

// Beacon chain constants the preset's expected rates depend on: the mainnet
// preset's values, which mainnet, its testnets and Gnosis share.
const (
	maxCommitteesPerSlot                 = 64
	targetCommitteeSize                  = 128
	targetAggregatorsPerCommittee        = 16
	syncCommitteeSize                    = 512
	targetAggregatorsPerSyncSubcommittee = 16
)

// Topic weights of the preset. Lighthouse, Teku and Lodestar use the first
// six; the sync committee and BLS-to-execution-change weights are Prysm's.
const (
	beaconBlockWeight        = 0.5
	aggregateWeight          = 0.5
	attestationTotalWeight   = 1.0 // shared by the 64 subnets
	voluntaryExitWeight      = 0.05
	proposerSlashingWeight   = 0.05
	attesterSlashingWeight   = 0.05
	syncCommitteeTotalWeight = 0.4 // shared by the 4 subnets
	syncContributionWeight   = 0.2
	blsChangeWeight          = 0.05
)

// Preset derives peer score parameters for an Ethereum beacon node from
// the chain's size: the topics and numbers in the package doc, by the
// method Lighthouse introduced and Teku and Lodestar reproduce (the numbers
// match Teku's and Lodestar's published test values; see the tests). Only
// ActiveValidators and ForkDigests are required; fields marked "zero:" take
// that default when left at zero.
//
// Derive returns the parameters of every topic; TopicParams those of one
// topic; Specs what they are derived from, to adjust before calling
// derive.Params.
type Preset struct {
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

// resolved is a Preset with defaults filled in and checked.
type resolved struct {
	Preset
	slot, epoch time.Duration
}

// resolve fills in e's defaults and checks its fields.
func (e Preset) resolve() (*resolved, error) {
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
	switch {
	case e.ActiveValidators < 1:
		return nil, invalid("ActiveValidators", e.ActiveValidators, "must be at least 1")
	case e.SlotDuration < 0:
		return nil, invalid("SlotDuration", e.SlotDuration, "must not be negative")
	case e.SlotsPerEpoch < 0:
		return nil, invalid("SlotsPerEpoch", e.SlotsPerEpoch, "must not be negative")
	case e.MeshDegree < 0:
		return nil, invalid("MeshDegree", e.MeshDegree, "must not be negative")
	case e.MeshDeliveriesWindow < 0:
		return nil, invalid("MeshDeliveriesWindow", e.MeshDeliveriesWindow, "must not be negative")
	case e.MeshPenalty < MeshPenaltyFull || e.MeshPenalty > MeshPenaltyOff:
		return nil, invalid("MeshPenalty", e.MeshPenalty, "must be MeshPenaltyFull, MeshPenaltyMild or MeshPenaltyOff")
	case e.IPColocationFactorThreshold < 0:
		return nil, invalid("IPColocationFactorThreshold", e.IPColocationFactorThreshold, "must not be negative")
	}
	return &resolved{
		Preset: e,
		slot:   e.SlotDuration,
		epoch:  e.SlotDuration * time.Duration(e.SlotsPerEpoch),
	}, nil
}

// CommitteesPerSlot returns the number of beacon committees per slot, as
// the consensus spec's get_committee_count_per_slot computes it:
//
//	max(1, min(64, ActiveValidators / SlotsPerEpoch / 128))
//
// in integer division. 4 at 16384 validators, 64 from 262144 on.
func (e Preset) CommitteesPerSlot() int {
	spe := e.SlotsPerEpoch
	if spe <= 0 {
		spe = 32
	}
	n := max(e.ActiveValidators, 0) / spe / targetCommitteeSize
	return max(1, min(maxCommitteesPerSlot, n))
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
func (e Preset) AggregatorsPerSlot() float64 {
	spe := e.SlotsPerEpoch
	if spe <= 0 {
		spe = 32
	}
	v := max(e.ActiveValidators, 0)
	committees := e.CommitteesPerSlot() * spe
	small := v / committees
	large := v - small*committees
	modSmall := max(1, small/targetAggregatorsPerCommittee)
	modLarge := max(1, (small+1)/targetAggregatorsPerCommittee)
	perEpoch := float64((committees-large)*small)/float64(modSmall) +
		float64(large*(small+1))/float64(modLarge)
	return perEpoch / float64(spe)
}

// topics returns the description of every topic the preset scores, by
// bare topic name.
func (e *resolved) topics() map[string]derive.Topic {
	spe := float64(e.SlotsPerEpoch)
	base := func(weight, perSlot float64, firstDecay time.Duration) derive.Topic {
		return derive.Topic{
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
	withMesh := func(s derive.Topic, decaySlots int, capFactor float64, activation time.Duration) derive.Topic {
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

	specs := make(map[string]derive.Topic)
	specs[VoluntaryExit] = base(voluntaryExitWeight, 4/spe, 100*e.epoch)
	specs[AttesterSlashing] = base(attesterSlashingWeight, 1.0/5/spe, 100*e.epoch)
	specs[ProposerSlashing] = base(proposerSlashingWeight, 1.0/5/spe, 100*e.epoch)

	specs[BeaconBlock] = withMesh(base(beaconBlockWeight, 1, 20*e.epoch),
		5*e.SlotsPerEpoch, 3, e.epoch)
	specs[BeaconAggregateAndProof] = withMesh(base(aggregateWeight, e.AggregatorsPerSlot(), e.epoch),
		2*e.SlotsPerEpoch, 4, e.epoch)

	// A subnet that serves several committees per epoch sees bursts often
	// enough for short windows; otherwise its windows stretch over four
	// times as long.
	bursty := e.CommitteesPerSlot() >= 2*AttestationSubnetCount/e.SlotsPerEpoch
	firstDecay, meshSlots, activation := 4*e.epoch, 16*e.SlotsPerEpoch, 3*e.epoch
	if bursty {
		firstDecay, meshSlots, activation = e.epoch, 4*e.SlotsPerEpoch, e.slot*time.Duration(e.SlotsPerEpoch/2+1)
	}
	perSubnet := float64(e.ActiveValidators) / AttestationSubnetCount / spe
	attestation := withMesh(base(attestationTotalWeight/AttestationSubnetCount, perSubnet, firstDecay),
		meshSlots, 16, activation)
	for i := range AttestationSubnetCount {
		specs[AttestationSubnet(i)] = attestation
	}

	if !e.ExcludeSyncCommittee {
		members := float64(min(e.ActiveValidators, syncCommitteeSize))
		sync := base(syncCommitteeTotalWeight/SyncCommitteeSubnetCount,
			members/SyncCommitteeSubnetCount, e.epoch)
		for i := range SyncCommitteeSubnetCount {
			specs[SyncCommitteeSubnet(i)] = sync
		}
		specs[SyncCommitteeContributionAndProof] = base(syncContributionWeight,
			SyncCommitteeSubnetCount*targetAggregatorsPerSyncSubcommittee, e.epoch)
	}
	if !e.ExcludeBLSToExecutionChange {
		specs[BLSToExecutionChange] = base(blsChangeWeight, 4/spe, 100*e.epoch)
	}
	return specs
}

// budget returns the preset's score budget.
func (e *resolved) budget() derive.Budget {
	weight := beaconBlockWeight + aggregateWeight + attestationTotalWeight +
		voluntaryExitWeight + proposerSlashingWeight + attesterSlashingWeight
	if !e.ExcludeSyncCommittee {
		weight += syncCommitteeTotalWeight + syncContributionWeight
	}
	if !e.ExcludeBLSToExecutionChange {
		weight += blsChangeWeight
	}
	return derive.Budget{
		DecayInterval:               max(e.slot, time.Second),
		DecayToZero:                 pubsub.DefaultDecayToZero,
		MaxInMeshScore:              derive.DefaultMaxInMeshScore,
		MaxFirstDeliveriesScore:     derive.DefaultMaxFirstDeliveriesScore,
		MaxPositiveScore:            (derive.DefaultMaxInMeshScore + derive.DefaultMaxFirstDeliveriesScore) * weight,
		Thresholds:                  derive.DefaultThresholds(),
		RetainScore:                 100 * e.epoch,
		IPColocationFactorThreshold: e.IPColocationFactorThreshold,
		BehaviourPenaltyDecay:       10 * e.epoch,
		BehaviourPenaltyThreshold:   6,
		BehaviourPenaltyRate:        10 / float64(e.SlotsPerEpoch),
	}
}

// Specs returns what the preset derives from: a derive.Topic for every
// topic under every fork digest, keyed by full topic name, and the budget,
// whose MaxPositiveScore counts each topic once however many digests there
// are. derive.Params on them is Derive; edit them in between to adjust the
// preset.
func (e Preset) Specs() (map[string]derive.Topic, derive.Budget, error) {
	eth, err := e.resolve()
	if err != nil {
		return nil, derive.Budget{}, err
	}
	if len(eth.ForkDigests) == 0 {
		return nil, derive.Budget{}, invalid("ForkDigests", eth.ForkDigests, "must hold at least one fork digest")
	}
	bare := eth.topics()
	specs := make(map[string]derive.Topic, len(bare)*len(eth.ForkDigests))
	for _, digest := range eth.ForkDigests {
		for name, spec := range bare {
			specs[Topic(digest, name)] = spec
		}
	}
	return specs, eth.budget(), nil
}

// Derive returns the preset's parameters and thresholds, for every topic
// under every fork digest; they pass Validate. Params.AppSpecificScore
// returns 0: set your own (peer manager scores, trusted peers) before use.
// An error names the offending field and matches
// peerscore.ErrInvalidParams.
func (e Preset) Derive() (*peerscore.Params, *peerscore.Thresholds, error) {
	specs, budget, err := e.Specs()
	if err != nil {
		return nil, nil, err
	}
	p, t, err := derive.Params(specs, budget)
	return p, t, wrap(err)
}

// TopicParams returns the parameters of one topic, named without fork
// digest or encoding (BeaconBlock, AttestationSubnet(3), …), for
// registering topics one at a time (Scorer.SetTopicParams, as the validator
// count drifts or a fork adds topics). ForkDigests is not needed. A topic
// the preset does not score is an error that matches
// peerscore.ErrInvalidParams.
func (e Preset) TopicParams(name string) (*peerscore.TopicParams, error) {
	eth, err := e.resolve()
	if err != nil {
		return nil, err
	}
	spec, ok := eth.topics()[name]
	if !ok {
		return nil, unscoredTopic(name)
	}
	tp, err := derive.TopicParams(spec, eth.budget())
	return tp, wrap(err)
}

// unscoredTopic is the error for a topic the preset has no parameters for.
type unscoredTopic string

func (name unscoredTopic) Error() string {
	return errPrefix + ": TopicParams: the preset does not score topic " + strconv.Quote(string(name))
}

// Is makes errors.Is(err, peerscore.ErrInvalidParams) true, as for every
// other bad input to the preset.
func (unscoredTopic) Is(target error) bool { return target == peerscore.ErrInvalidParams }

// errPrefix starts every error of the package.
const errPrefix = "peerscore/ethereum"

// invalid reports an invalid Preset field.
func invalid(field string, value any, rule string) error {
	return paramerr.New(errPrefix, "", "Preset."+field, value, rule)
}

// wrap puts an error from package derive under this package's prefix.
func wrap(err error) error {
	return paramerr.Wrap(errPrefix, err)
}
