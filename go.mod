module github.com/shardlog/shardlog

go 1.25.0

require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
	gopkg.in/natefinch/lumberjack.v2 v2.2.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
