module github.com/matrixbench/matrix/servers/go-stdlib

go 1.26
