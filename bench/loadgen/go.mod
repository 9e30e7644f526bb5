module beyla-ts/bench/loadgen

go 1.21
