package fhirbundle

// RepeatedMemberForTest exposes repeatedMember to the external tests' fuzzing.
var RepeatedMemberForTest = repeatedMember
