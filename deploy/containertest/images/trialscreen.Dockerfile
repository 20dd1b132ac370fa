# The service for the container tests: the static binary built on the host, in an empty
# image, so that no registry is needed. The release image is the repository's Dockerfile.
FROM scratch
COPY trialscreen /trialscreen
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/trialscreen"]
CMD ["serve"]
