package rank

// TagValue is the mapping of a score to a tag value (WithTagScale).
var TagValue = tagValue
