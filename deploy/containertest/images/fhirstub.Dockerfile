# The FHIR stub (cmd/fhirstub) for the container tests: static binary, empty image.
FROM scratch
COPY fhirstub /fhirstub
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/fhirstub"]
CMD ["-demo"]
