"""The key lifecycle: provision (keygen, rotation, DSC import) · csr · labca · softtokens."""
