module github.com/trialscreen/trialscreen

go 1.26.8

require gopkg.in/yaml.v3 v3.0.1

require (
	github.com/golang/protobuf v1.5.4 // indirect
	github.com/google/fhir/go v0.7.4 // indirect
	github.com/kr/pretty v0.2.0 // indirect
	gopkg.in/check.v1 v1.0.0-20190902080502-41f04d3bba15 // indirect
)
