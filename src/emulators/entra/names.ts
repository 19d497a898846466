/**
 * Word lists for the generated tenant. Names mix languages and include accents and apostrophes on
 * purpose: search, e-mail derivation and sorting must cope with them in a real directory.
 */

export const GIVEN_NAMES: readonly string[] = (
  'Adele,Alex,Allan,Amara,Ana,Andrés,Anika,Aoife,Arjun,Astrid,Ayesha,Bao,Beatriz,Ben,Bianca,Björn,' +
  'Carlos,Catherine,Chen,Chloé,Christie,Daniel,Dara,Darius,Debra,Diego,Dmitri,Elena,Elif,Emeka,' +
  'Emily,Enrico,Eun-ji,Fatima,Felix,Fiona,François,Gabriel,Grace,Grady,Hana,Hannah,Haruto,' +
  'Henrietta,Hiro,Ibrahim,Ines,Isaiah,Isla,Ivan,Jacob,Jamal,Javier,Jessica,Jiho,Joanna,Johanna,' +
  'Jonas,José,Julia,Kai,Karim,Kateryna,Kenji,Khalid,Kwame,Lara,Laura,Lee,Leila,Liam,Lidia,Lucas,' +
  'Lukas,Lynne,Maya,Malik,Mariana,Marta,Mateo,Megan,Mei,Miguel,Mikael,Miriam,Mohammed,Nadia,Naledi,' +
  'Nestor,Niamh,Nikhil,Noah,Nora,Oliver,Olga,Omar,Patti,Pedro,Pradeep,Priya,Rafael,Rania,Ravi,' +
  'Renée,Ricardo,Rin,Rosa,Sakura,Samuel,Sara,Seo-yeon,Siobhán,Sofia,Søren,Sun,Tamar,Tariq,Thandiwe,' +
  'Théo,Tomasz,Uma,Valentina,Victor,Wei,Xavier,Yara,Yasmin,Yusuf,Zanele,Zoë,Zoltan'
).split(',');

export const SURNAMES: readonly string[] = (
  'Abara,Adams,Ahmed,Alvarez,Andersen,Bakker,Banerjee,Bauer,Bennett,Bowen,Brennan,Carvalho,' +
  'Castillo,Chen,Choi,Costa,Dang,Das,Diallo,Dubois,Eriksson,Fernández,Fischer,Fitzgerald,Garcia,' +
  'Gomez,Gonçalves,Haddad,Hansen,Hernández,Horvat,Hughes,Ibrahim,Ito,Jankowski,Jensen,Johnson,Kang,' +
  'Kapoor,Kaur,Kelly,Khan,Kim,Kowalski,Kuznetsova,Larsen,Laurent,Lee,Lindqvist,Lopez,MacDonald,' +
  'Mahlangu,Martin,Mbeki,Mendoza,Meyer,Miller,Moreau,Mori,Müller,Murphy,Nakamura,Nguyen,Nkosi,' +
  "Novak,O'Brien,O'Connor,Okafor,Oliveira,Olsen,Park,Patel,Petrov,Pham,Popescu,Quinn,Ramírez,Rao," +
  'Reyes,Richter,Rossi,Russo,Sato,Schmidt,Schneider,Shapiro,Sharma,Silva,Singh,Smith,Sokolov,' +
  'Suzuki,Takahashi,Tanaka,Taylor,Thompson,Tran,Van der Berg,Vargas,Vasquez,Wagner,Walker,Wang,' +
  'Weber,Wiśniewski,Wright,Wu,Yamamoto,Yilmaz,Young,Zhang,Zhou'
).split(',');

export interface Department {
  name: string;
  /** Relative size in the workforce. */
  weight: number;
  head: string;
  individualTitles: string[];
  /** Sub-teams that get a nested group of their own inside the department's group. */
  teams?: string[];
}

export const DEPARTMENTS: Department[] = [
  {
    name: 'Engineering',
    weight: 30,
    head: 'VP of Engineering',
    individualTitles: [
      'Software Engineer',
      'Software Engineer',
      'Senior Software Engineer',
      'Senior Software Engineer',
      'Principal Engineer',
      'Site Reliability Engineer',
      'QA Engineer',
      'Data Engineer',
      'Security Engineer',
    ],
    teams: ['Platform', 'Mobile', 'Payments'],
  },
  {
    name: 'Sales',
    weight: 15,
    head: 'Chief Revenue Officer',
    individualTitles: [
      'Account Executive',
      'Account Executive',
      'Sales Development Representative',
      'Account Manager',
      'Sales Engineer',
    ],
  },
  {
    name: 'Marketing',
    weight: 8,
    head: 'Chief Marketing Officer',
    individualTitles: [
      'Marketing Specialist',
      'Content Strategist',
      'Product Marketing Manager',
      'Brand Designer',
      'Events Coordinator',
    ],
  },
  {
    name: 'Customer Success',
    weight: 10,
    head: 'VP of Customer Success',
    individualTitles: [
      'Customer Success Manager',
      'Support Engineer',
      'Support Specialist',
      'Technical Account Manager',
    ],
  },
  {
    name: 'Finance',
    weight: 5,
    head: 'Chief Financial Officer',
    individualTitles: [
      'Financial Analyst',
      'Accountant',
      'Payroll Specialist',
      'Accounts Payable Specialist',
      'Controller',
    ],
  },
  {
    name: 'Human Resources',
    weight: 4,
    head: 'Chief People Officer',
    individualTitles: ['HR Generalist', 'Recruiter', 'People Partner', 'Payroll Manager', 'Learning Specialist'],
  },
  {
    name: 'Legal',
    weight: 2,
    head: 'General Counsel',
    individualTitles: ['Corporate Counsel', 'Paralegal', 'Compliance Analyst', 'Privacy Officer'],
  },
  {
    name: 'Operations',
    weight: 8,
    head: 'Chief Operating Officer',
    individualTitles: ['Operations Analyst', 'Facilities Coordinator', 'Procurement Specialist', 'Office Manager'],
  },
  {
    name: 'Product',
    weight: 6,
    head: 'Chief Product Officer',
    individualTitles: ['Product Manager', 'Senior Product Manager', 'UX Designer', 'UX Researcher', 'Technical Writer'],
  },
  {
    name: 'IT',
    weight: 5,
    head: 'Chief Information Officer',
    individualTitles: ['IT Support Technician', 'Systems Administrator', 'Network Engineer', 'Identity Administrator'],
  },
  {
    name: 'Research',
    weight: 4,
    head: 'Head of Research',
    individualTitles: ['Research Scientist', 'Data Scientist', 'Data Analyst', 'Applied Scientist'],
  },
];

export interface Office {
  city: string;
  country: string;
  region: 'Americas' | 'EMEA' | 'APAC';
  usageLocation: string;
  preferredLanguage: string;
  weight: number;
  /** Phone number of a person in this office; fictional number ranges where the country has them. */
  phone: (digits: (count: number) => string) => string;
  mobile: (digits: (count: number) => string) => string;
}

export const OFFICES: Office[] = [
  {
    city: 'Seattle',
    country: 'United States',
    region: 'Americas',
    usageLocation: 'US',
    preferredLanguage: 'en-US',
    weight: 30,
    phone: (d) => `+1 206 555 01${d(2)}`,
    mobile: (d) => `+1 425 555 01${d(2)}`,
  },
  {
    city: 'New York',
    country: 'United States',
    region: 'Americas',
    usageLocation: 'US',
    preferredLanguage: 'en-US',
    weight: 14,
    phone: (d) => `+1 212 555 01${d(2)}`,
    mobile: (d) => `+1 917 555 01${d(2)}`,
  },
  {
    city: 'Toronto',
    country: 'Canada',
    region: 'Americas',
    usageLocation: 'CA',
    preferredLanguage: 'en-CA',
    weight: 6,
    phone: (d) => `+1 416 555 01${d(2)}`,
    mobile: (d) => `+1 647 555 01${d(2)}`,
  },
  {
    city: 'São Paulo',
    country: 'Brazil',
    region: 'Americas',
    usageLocation: 'BR',
    preferredLanguage: 'pt-BR',
    weight: 5,
    phone: (d) => `+55 11 3${d(3)} ${d(4)}`,
    mobile: (d) => `+55 11 9${d(4)} ${d(4)}`,
  },
  {
    city: 'London',
    country: 'United Kingdom',
    region: 'EMEA',
    usageLocation: 'GB',
    preferredLanguage: 'en-GB',
    weight: 12,
    phone: (d) => `+44 20 7946 0${d(3)}`,
    mobile: (d) => `+44 7700 900${d(3)}`,
  },
  {
    city: 'Dublin',
    country: 'Ireland',
    region: 'EMEA',
    usageLocation: 'IE',
    preferredLanguage: 'en-IE',
    weight: 6,
    phone: (d) => `+353 1 555 ${d(4)}`,
    mobile: (d) => `+353 85 555 ${d(4)}`,
  },
  {
    city: 'Berlin',
    country: 'Germany',
    region: 'EMEA',
    usageLocation: 'DE',
    preferredLanguage: 'de-DE',
    weight: 7,
    phone: (d) => `+49 30 555 ${d(4)}`,
    mobile: (d) => `+49 151 555 ${d(4)}`,
  },
  {
    city: 'Paris',
    country: 'France',
    region: 'EMEA',
    usageLocation: 'FR',
    preferredLanguage: 'fr-FR',
    weight: 5,
    phone: (d) => `+33 1 55 55 ${d(2)} ${d(2)}`,
    mobile: (d) => `+33 6 55 55 ${d(2)} ${d(2)}`,
  },
  {
    city: 'Singapore',
    country: 'Singapore',
    region: 'APAC',
    usageLocation: 'SG',
    preferredLanguage: 'en-SG',
    weight: 6,
    phone: (d) => `+65 6555 ${d(4)}`,
    mobile: (d) => `+65 8555 ${d(4)}`,
  },
  {
    city: 'Sydney',
    country: 'Australia',
    region: 'APAC',
    usageLocation: 'AU',
    preferredLanguage: 'en-AU',
    weight: 5,
    phone: (d) => `+61 2 5550 ${d(4)}`,
    mobile: (d) => `+61 491 570 ${d(3)}`,
  },
  {
    city: 'Tokyo',
    country: 'Japan',
    region: 'APAC',
    usageLocation: 'JP',
    preferredLanguage: 'ja-JP',
    weight: 4,
    phone: (d) => `+81 3 5555 ${d(4)}`,
    mobile: (d) => `+81 90 5555 ${d(4)}`,
  },
];

/** Partner companies whose people are invited as guests. */
export const GUEST_DOMAINS = ['fabrikam.com', 'northwindtraders.com', 'adventure-works.com', 'tailspintoys.com'];

/** Code names for project groups beyond the fixed ones. */
export const PROJECT_NAMES = [
  'Falcon',
  'Aurora',
  'Bluebird',
  'Cascade',
  'Comet',
  'Delta',
  'Ember',
  'Evergreen',
  'Firefly',
  'Glacier',
  'Harbor',
  'Horizon',
  'Juniper',
  'Kestrel',
  'Lighthouse',
  'Maple',
  'Meridian',
  'Nebula',
  'Northstar',
  'Orion',
  'Pinnacle',
  'Quartz',
  'Redwood',
  'Sequoia',
  'Summit',
  'Tidewater',
  'Vanguard',
  'Willow',
  'Zephyr',
  'Atlas',
];

export const COMMUNITY_GROUPS = [
  'Book Club',
  'Running Club',
  'Women in Tech',
  'Pride Network',
  'Parents Network',
  'Volunteering Committee',
  'Photography Club',
  'Chess Club',
  'Sustainability Champions',
  'Mentoring Circle',
];
