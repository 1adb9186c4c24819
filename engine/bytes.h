/*-------------------------------------------------------------------------
 *
 * bytes.h
 *	  Little-endian packing of the engine's serialised states (selector,
 *	  cost model, EWC++, patterns) and their FNV-1a checksum; internal to
 *	  engine/.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_BYTES_H
#define NDAG_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * ndag_lput_u32
 *		Store x little-endian.
 */
static inline void
ndag_lput_u32(unsigned char *p, uint32_t x)
{
	int			i;

	for (i = 0; i < 4; i++)
		p[i] = (unsigned char) (x >> (8 * i));
}

/*
 * ndag_lget_u32
 *		Load a little-endian 32-bit value.
 */
static inline uint32_t
ndag_lget_u32(const unsigned char *p)
{
	uint32_t	x = 0;
	int			i;

	for (i = 0; i < 4; i++)
		x |= (uint32_t) p[i] << (8 * i);
	return x;
}

/*
 * ndag_lput_u64
 *		Store x little-endian.
 */
static inline void
ndag_lput_u64(unsigned char *p, uint64_t x)
{
	int			i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char) (x >> (8 * i));
}

/*
 * ndag_lget_u64
 *		Load a little-endian 64-bit value.
 */
static inline uint64_t
ndag_lget_u64(const unsigned char *p)
{
	uint64_t	x = 0;
	int			i;

	for (i = 0; i < 8; i++)
		x |= (uint64_t) p[i] << (8 * i);
	return x;
}

/*
 * ndag_lput_f32
 *		Store a float by its IEEE bits.
 */
static inline void
ndag_lput_f32(unsigned char *p, float f)
{
	uint32_t	x;

	memcpy(&x, &f, sizeof(x));
	ndag_lput_u32(p, x);
}

/*
 * ndag_lget_f32
 *		Load a float from its IEEE bits.
 */
static inline float
ndag_lget_f32(const unsigned char *p)
{
	uint32_t	x = ndag_lget_u32(p);
	float		f;

	memcpy(&f, &x, sizeof(f));
	return f;
}

/*
 * ndag_lput_f64
 *		Store a double by its IEEE bits.
 */
static inline void
ndag_lput_f64(unsigned char *p, double d)
{
	uint64_t	x;

	memcpy(&x, &d, sizeof(x));
	ndag_lput_u64(p, x);
}

/*
 * ndag_lget_f64
 *		Load a double from its IEEE bits.
 */
static inline double
ndag_lget_f64(const unsigned char *p)
{
	uint64_t	x = ndag_lget_u64(p);
	double		d;

	memcpy(&d, &x, sizeof(d));
	return d;
}

/*
 * ndag_lfnv1a
 *		64-bit FNV-1a over a byte range.
 */
static inline uint64_t
ndag_lfnv1a(const unsigned char *p, size_t len)
{
	uint64_t	h = UINT64_C(0xcbf29ce484222325);
	size_t		i;

	for (i = 0; i < len; i++)
	{
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

#endif							/* NDAG_BYTES_H */
