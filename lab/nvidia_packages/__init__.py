"""A fixture NVIDIA apt repository for the lab and Molecule: stand-in packages, never shipped.

NVIDIA's repositories cannot be reached from the test machines, so `python -m lab.nvidia_packages`
builds a signed flat apt repository (the layout of NVIDIA's CUDA and container-toolkit
repositories) whose packages carry the real package names and install stand-in programs. Every
stand-in says it is a simulation: package descriptions, the nvidia-smi banner, --version texts.
"""
