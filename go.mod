module github.com/shardlog/shardlog

go 1.25.0
