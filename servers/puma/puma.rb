# puma's configuration for the matrix. run.sh sets the MATRIX_PUMA_*
# variables it reads and starts puma in the foreground with it.

# The production environment, as deployed: puma adds no development
# middleware. No request log (puma's default).
environment 'production'
directory ENV.fetch('MATRIX_PUMA_DIR')
rackup File.join(ENV.fetch('MATRIX_PUMA_DIR'), 'config.ru')
bind ENV.fetch('MATRIX_PUMA_BIND')

# Cluster mode, one worker process per CPU: a worker runs Ruby code on one
# core at a time (the GVL), so this is what puma's docs advise for a box
# this size. Each has up to 5 threads, the maximum Rails configures and
# puma 5's default, so a worker waiting on a socket does not leave its
# core idle.
workers Integer(ENV.fetch('MATRIX_PUMA_WORKERS'))
threads 0, Integer(ENV.fetch('MATRIX_PUMA_THREADS'))

# Workers get 1 s after SIGTERM to finish, as the Go servers (puma's
# default is 30 s). Every other setting is puma's default: keep-alive
# timeout 20 s, listen backlog 1024.
worker_shutdown_timeout 1
